"""Admin of the reference labels: contact reason mappings (edited) and imported labels (read only)."""

from django.contrib import admin

from ..models import ContactReasonMapping, ImportedLabel


@admin.register(ContactReasonMapping)
class ContactReasonMappingAdmin(admin.ModelAdmin):
    list_display = ("value", "attribute", "intent", "sub_intent")
    list_filter = ("attribute", "intent")
    search_fields = ("value",)
    fields = ("attribute", "value", "intent", "sub_intent")
    autocomplete_fields = ("intent", "sub_intent")


@admin.register(ImportedLabel)
class ImportedLabelAdmin(admin.ModelAdmin):
    list_display = ("conversation", "intent", "sub_intent", "source", "updated_at")
    list_filter = ("source", "intent")
    search_fields = ("=conversation__kustomer_id",)
    readonly_fields = ("conversation", "intent", "sub_intent", "source", "created_at", "updated_at")
    fields = readonly_fields

    def has_add_permission(self, request) -> bool:
        return False
