from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from workflows.activation import workflow_set_active
from workflows.api.serializers import WorkflowSerializer
from workflows.models import Workflow
from workflows.selectors import workflows_visible_to
from workflows.services import workflow_create, workflow_delete, workflow_update


class WorkflowViewSet(viewsets.ModelViewSet):
    """CRUD of n8n-format workflows; other users' workflows answer 404."""

    serializer_class = WorkflowSerializer

    def get_queryset(self) -> QuerySet[Workflow]:
        return workflows_visible_to(self.request.user)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        workflow = workflow_create(owner=request.user, **serializer.validated_data)
        return Response(self.get_serializer(workflow).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        partial = kwargs.pop("partial", False)
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        workflow = workflow_update(workflow=instance, **serializer.validated_data)
        return Response(self.get_serializer(workflow).data)

    def perform_destroy(self, instance: Workflow) -> None:
        workflow_delete(workflow=instance)

    @extend_schema(request=None, responses={200: WorkflowSerializer})
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, pk: str | None = None) -> Response:
        workflow = workflow_set_active(workflow=self.get_object(), active=True)
        return Response(self.get_serializer(workflow).data)

    @extend_schema(request=None, responses={200: WorkflowSerializer})
    @action(detail=True, methods=["post"])
    def deactivate(self, request: Request, pk: str | None = None) -> Response:
        workflow = workflow_set_active(workflow=self.get_object(), active=False)
        return Response(self.get_serializer(workflow).data)
