"""Likely duplicates found by the finder, and the merges made of them (kept so that a merge
can be undone). Records are named by record type and id, not by foreign keys: the finder and
the merge work for every record type, and a record's reverse relations (which the merge moves)
never include these tables."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class CandidateStatus(models.TextChoices):
    OPEN = "open", _("To review")
    DISMISSED = "dismissed", _("Not duplicates")
    MERGED = "merged", _("Merged")


class DuplicateCandidate(models.Model):
    """Two records of one type that look like the same customer or person."""

    record_type = models.CharField(_("record type"), max_length=32)
    left_id = models.BigIntegerField(_("first record"))
    right_id = models.BigIntegerField(_("second record"))
    score = models.PositiveSmallIntegerField(_("score"))  # 0–100
    # [{"code": "same_phone" | "same_email" | "same_name" | "pinyin" | "similar_name", "text": …}]
    reasons = models.JSONField(_("reasons"), default=list)
    status = models.CharField(_("status"), max_length=16, choices=CandidateStatus.choices, default=CandidateStatus.OPEN)
    found_at = models.DateTimeField(_("found at"), default=timezone.now)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("possible duplicate")
        verbose_name_plural = _("possible duplicates")
        ordering = ["-score", "id"]
        constraints = [
            models.UniqueConstraint(fields=["record_type", "left_id", "right_id"], name="dedupe_candidate_unique_pair"),
            models.CheckConstraint(condition=Q(left_id__lt=F("right_id")), name="dedupe_candidate_ordered_pair"),
        ]
        indexes = [
            models.Index(fields=["record_type", "status", "-score"], name="dedupe_candidate_queue_idx"),
            models.Index(fields=["record_type", "right_id"], name="dedupe_candidate_right_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.record_type} {self.left_id}–{self.right_id} ({self.score})"


class Merge(models.Model):
    """One merge of ``loser`` into ``survivor``: what it changed, so that it can be undone.

    ``survivor_before`` holds the survivor's values of the fields the merge changed (encrypted
    fields and private custom values sealed, as in the audit log), ``moved`` the ids of the
    related rows moved per relation (``"<app>.<Model>.<field>"``) and ``links`` the
    many-to-many rows moved or dropped (``{"<app>.<Model>.<field>": {"moved": [...],
    "dropped": [...]}}``, ids of the records on the other side)."""

    record_type = models.CharField(_("record type"), max_length=32)
    survivor_id = models.BigIntegerField(_("survivor"))
    loser_id = models.BigIntegerField(_("merged record"))
    survivor_number = models.CharField(_("survivor number"), max_length=32)
    loser_number = models.CharField(_("merged record number"), max_length=32)
    candidate = models.ForeignKey(
        DuplicateCandidate, verbose_name=_("pair"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    survivor_before = models.JSONField(_("survivor's previous values"), default=dict)
    survivor_version = models.PositiveIntegerField(_("survivor's version after the merge"))
    moved = models.JSONField(_("moved records"), default=dict)
    links = models.JSONField(_("moved links"), default=dict)
    facts = models.JSONField(_("moved timeline entries"), default=list)
    # rows the merge changed further to keep a rule ({"customers.Contact.is_primary": [ids]}:
    # moved primary contacts that are no longer primary at a survivor that has one)
    demoted = models.JSONField(_("demoted rows"), default=dict)
    created_at = models.DateTimeField(_("merged at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("merged by"), on_delete=models.PROTECT, related_name="+"
    )
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("undone by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("merge")
        verbose_name_plural = _("merges")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["record_type", "survivor_id"], name="dedupe_merge_survivor_idx"),
            models.Index(fields=["record_type", "loser_id"], name="dedupe_merge_loser_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.loser_number} → {self.survivor_number}"

    @property
    def moved_count(self) -> int:
        return sum(len(ids) for ids in self.moved.values()) + sum(
            len(link.get("moved", [])) + len(link.get("dropped", [])) for link in self.links.values()
        )
