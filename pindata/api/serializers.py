from __future__ import annotations

from rest_framework import serializers

from pindata.models import PinData, PinDataType


class PinRequestSerializer(serializers.Serializer):
    data = serializers.JSONField()
    data_type = serializers.ChoiceField(choices=PinDataType.choices, default=PinDataType.SAMPLE)
    expires_in_hours = serializers.FloatField(required=False, allow_null=True, min_value=0.000001)
    output_index = serializers.IntegerField(required=False, default=0, min_value=0, max_value=63)
    mask_sensitive = serializers.BooleanField(default=True)


class PinFromExecutionSerializer(serializers.Serializer):
    data_type = serializers.ChoiceField(choices=PinDataType.choices, default=PinDataType.SAMPLE)
    expires_in_hours = serializers.FloatField(required=False, allow_null=True, min_value=0.000001)
    output_index = serializers.IntegerField(required=False, default=0, min_value=0, max_value=63)
    run_index = serializers.IntegerField(required=False, min_value=0)
    mask_sensitive = serializers.BooleanField(default=True)


class PinSerializer(serializers.ModelSerializer):
    workflow_id = serializers.IntegerField(read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, default=None)

    class Meta:
        model = PinData
        fields = [
            "id",
            "workflow_id",
            "node_name",
            "output_index",
            "data",
            "data_type",
            "checksum",
            "created_at",
            "expires_at",
            "created_by",
            "metadata",
        ]
        read_only_fields = fields
