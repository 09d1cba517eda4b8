"""Reports for compliance staff (and, for their own bank, a bank's people): each a question, a chart, a table, a CSV.

One module per group: `consents` (grants over time, narrowing), `deliveries` (per purpose and channel,
consent refusals, dead letters), `banks` (terms not accepted, overdue attestations), `catalog` (scope
reviews), `bank_figures` (a bank's own figures). `filters` reads the query string; `base` streams CSV.
"""

from .bank_figures import BANK_ACTIVITY, active_grants
from .banks import OVERDUE_ATTESTATIONS, TERMS_NOT_ACCEPTED
from .base import Chart, Column, Report
from .catalog import SCOPE_REVIEWS
from .chase import attestation_chase
from .consents import CONSENT_ACTIVITY, NARROWING_FLAGS
from .deliveries import CONSENT_REFUSALS, DEAD_LETTERS, DELIVERIES
from .filters import ReportFilter, report_filter

# In the order the index lists them.
REPORTS: dict[str, Report] = {
    report.slug: report
    for report in (
        CONSENT_ACTIVITY,
        DELIVERIES,
        CONSENT_REFUSALS,
        DEAD_LETTERS,
        TERMS_NOT_ACCEPTED,
        OVERDUE_ATTESTATIONS,
        SCOPE_REVIEWS,
        NARROWING_FLAGS,
    )
}

__all__ = [
    "BANK_ACTIVITY",
    "REPORTS",
    "Chart",
    "Column",
    "Report",
    "ReportFilter",
    "active_grants",
    "attestation_chase",
    "report_filter",
]
