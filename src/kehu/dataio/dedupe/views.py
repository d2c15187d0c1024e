"""The review queue: pairs of likely duplicates, a pair side by side with a choice per field,
merge, "not duplicates", bulk merge, recent merges and undo. Thin: the services decide."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kehu.dataio.dedupe import selectors, services, tasks
from kehu.dataio.dedupe.models import DuplicateCandidate
from kehu.platform.access import can
from kehu.platform.context import Context
from kehu.platform.display import display_value
from kehu.platform.errors import NotVisible, StaleVersion
from kehu.platform.records import registry

PAGE_SIZE = 50
LEFT, RIGHT = "left", "right"


def _error_text(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(error.messages)
    if isinstance(error, StaleVersion):
        return str(StaleVersion.message)
    return str(error) or _("Not found.")


def _may_merge(user: Any, record_type: str) -> bool:
    rt = registry[record_type]
    return can(user, rt, "change") and can(user, rt, "delete")


@login_required
def duplicate_list(request: HttpRequest) -> HttpResponse:
    types = selectors.reviewable_types(request.user)
    if not types:
        raise PermissionDenied
    chosen = request.GET.get("type", "")
    if chosen and chosen not in {rt.key for rt in types}:
        chosen = ""
    queryset = selectors.candidates_for(request.user, record_type=chosen or None)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    candidates = list(page.object_list)
    records = selectors.records_of(candidates)
    rows = [
        {
            "candidate": c,
            "left": records[(c.record_type, c.left_id)],
            "right": records[(c.record_type, c.right_id)],
            "label": registry[c.record_type].label,
        }
        for c in candidates
    ]
    merges = list(selectors.merges_for(request.user).filter(undone_at__isnull=True)[:10])
    return render(
        request,
        "dedupe/duplicate_list.html",
        {
            "types": types,
            "chosen": chosen,
            "page": page,
            "rows": rows,
            "merges": merges,
            "may_scan": any(can(request.user, rt, "change") for rt in types),
            "may_merge": any(_may_merge(request.user, rt.key) for rt in types),
        },
    )


def _candidate(request: HttpRequest, pk: int) -> DuplicateCandidate:
    try:
        return selectors.candidate_get(request.user, pk)
    except NotVisible:
        raise Http404 from None


@login_required
def duplicate_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A pair side by side: a radio per differing field, which record survives, what moves."""
    candidate = _candidate(request, pk)
    rt = registry[candidate.record_type]
    records = selectors.records_of([candidate])
    left, right = records[(rt.key, candidate.left_id)], records[(rt.key, candidate.right_id)]
    survivor, _loser = services.older_first(left, right)
    if request.method == "POST":
        return _act(request, candidate, left, right)
    fields = []
    for choice in services.differing_fields(rt, survivor, _loser):
        survivor_side = LEFT if survivor.pk == left.pk else RIGHT
        picked = survivor_side if choice.default == services.SURVIVOR else (RIGHT if survivor_side == LEFT else LEFT)
        fields.append(
            {
                "name": choice.name,
                "label": choice.label,
                "left": display_value(left, choice.name),
                "right": display_value(right, choice.name),
                "picked": picked,
            }
        )
    context = {
        "candidate": candidate,
        "rt": rt,
        "left": left,
        "right": right,
        "survivor": survivor,
        "fields": fields,
        "left_counts": services.related_counts(rt, left),
        "right_counts": services.related_counts(rt, right),
        "may_merge": _may_merge(request.user, rt.key) and candidate.status == "open",
        "may_dismiss": can(request.user, rt, "change") and candidate.status == "open",
    }
    return render(request, "dedupe/duplicate_detail.html", context)


def _act(request: HttpRequest, candidate: DuplicateCandidate, left: Any, right: Any) -> HttpResponse:
    ctx = Context.from_request(request)
    action = request.POST.get("action")
    try:
        if action == "dismiss":
            services.candidate_dismiss(ctx=ctx, candidate=candidate)
            messages.success(request, _("Marked as not duplicates."))
            return HttpResponseRedirect(reverse("duplicates"))
        if action != "merge":
            raise ValidationError(_("Choose Merge or Not duplicates."))
        survivor_side = request.POST.get("survivor")
        if survivor_side not in (LEFT, RIGHT):
            raise ValidationError(_("Choose which record stays."))
        survivor = left if survivor_side == LEFT else right
        rt = registry[candidate.record_type]
        other = right if survivor is left else left
        choices = {}
        for choice in services.differing_fields(rt, survivor, other):
            side = request.POST.get(f"pick-{choice.name}")
            if side in (LEFT, RIGHT):
                choices[choice.name] = services.SURVIVOR if side == survivor_side else services.LOSER
        merge = services.candidate_merge(ctx=ctx, candidate=candidate, survivor_id=survivor.pk, choices=choices)
    except (ValidationError, PermissionDenied, NotVisible, StaleVersion) as error:
        messages.error(request, _error_text(error))
        return HttpResponseRedirect(reverse("duplicate_detail", args=[candidate.pk]))
    messages.success(
        request,
        _("%(loser)s was merged into %(survivor)s; it is in the trash. You can undo this under Duplicates.")
        % {"loser": merge.loser_number, "survivor": merge.survivor_number},
    )
    return HttpResponseRedirect(survivor.get_absolute_url())


@login_required
@require_POST
def duplicate_bulk_merge(request: HttpRequest) -> HttpResponse:
    """Merge the ticked pairs with the default choices (the older record survives)."""
    ids = [int(pk) for pk in request.POST.getlist("ids") if pk.isdigit()]
    candidates = list(selectors.candidates_for(request.user).filter(pk__in=ids))
    if not candidates:
        messages.error(request, _("Tick the pairs to merge."))
        return HttpResponseRedirect(reverse("duplicates"))
    result = services.candidates_merge(ctx=Context.from_request(request), candidates=candidates)
    if result.merged:
        messages.success(request, _("Merged %(count)d pairs.") % {"count": len(result.merged)})
    for candidate, message in result.failed:
        messages.error(request, _("Pair %(id)d: %(error)s") % {"id": candidate.pk, "error": message})
    return HttpResponseRedirect(reverse("duplicates"))


@login_required
@require_POST
def duplicate_scan(request: HttpRequest) -> HttpResponse:
    """ "Scan now": queue the finder for the types the user may change."""
    keys = [rt.key for rt in selectors.reviewable_types(request.user) if can(request.user, rt, "change")]
    if not keys:
        raise PermissionDenied
    tasks.scan_start(ctx=Context.from_request(request), record_types=keys)
    messages.success(request, _("The scan has started; new pairs show here when it is done."))
    return HttpResponseRedirect(reverse("duplicates"))


@login_required
@require_POST
def merge_undo(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        merge = selectors.merge_get(request.user, pk)
    except NotVisible:
        raise Http404 from None
    try:
        services.merge_undo(ctx=Context.from_request(request), merge=merge, force=request.POST.get("force") == "1")
    except (ValidationError, PermissionDenied, NotVisible, StaleVersion) as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, _("The merge was undone: %(number)s is back.") % {"number": merge.loser_number})
    return HttpResponseRedirect(reverse("duplicates"))
