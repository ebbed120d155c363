"""``/api/variables/``: instance variables (``$vars``). Everyone signed in reads; staff write."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from workflows.models import VARIABLE_KEY_MAX, VARIABLE_VALUE_MAX, Variable
from workflows.variables import variable_create, variable_delete, variable_update


class VariableSerializer(serializers.ModelSerializer):
    """Shape only; the key's characters and uniqueness are checked by the service."""

    key = serializers.CharField(max_length=VARIABLE_KEY_MAX)
    value = serializers.CharField(max_length=VARIABLE_VALUE_MAX, allow_blank=True, trim_whitespace=False)

    class Meta:
        model = Variable
        fields = ["key", "value", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class StaffWritesOrReadOnly(permissions.BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        return request.method in permissions.SAFE_METHODS or bool(getattr(request.user, "is_staff", False))


class VariableViewSet(viewsets.ModelViewSet):
    serializer_class = VariableSerializer
    permission_classes = [StaffWritesOrReadOnly]
    lookup_field = "key"
    lookup_value_regex = "[^/]+"

    def get_queryset(self) -> QuerySet[Variable]:
        return Variable.objects.all()

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        variable = variable_create(**serializer.validated_data)
        return Response(self.get_serializer(variable).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data, partial=kwargs.pop("partial", False))
        serializer.is_valid(raise_exception=True)
        variable = variable_update(variable=instance, **serializer.validated_data)
        return Response(self.get_serializer(variable).data)

    def perform_destroy(self, instance: Variable) -> None:
        variable_delete(variable=instance)
