"""The words of the workbench's access review, charts and PDF report, in both languages
(merged into the catalogue by ``vault.web.i18n``; the same keys in each)."""

WORKBENCH_ID: dict[str, str] = {
    "report_proofs_title": "Bukti inklusi setiap pembacaan dalam log audit",
    "report_proofs_intro": (
        "Setiap pembacaan di atas tercatat dalam log audit yang ditandatangani. Siapa pun "
        "(pengacara, pengadilan) dapat memeriksanya tanpa brankas ini dengan tools/verify_log.py "
        "dan teks di bawah."
    ),
    "access_review": "Tinjauan hak akses",
    "access_review_intro": (
        "Setiap akun aktif dan setiap penugasan tim perawatan organisasi Anda, untuk "
        "dikonfirmasi atau diakhiri. Yang tidak dikonfirmasi selama {days} hari terlambat ditinjau."
    ),
    "review_overdue_count": "{count} akun atau penugasan terlambat ditinjau.",
    "review_up_to_date": "Tinjauan hak akses sudah mutakhir.",
    "review_item": "Jenis",
    "review_kind_account": "Akun",
    "review_kind_assignment": "Penugasan tim perawatan",
    "review_since": "Sejak",
    "review_confirmed": "Terakhir dikonfirmasi",
    "review_never": "belum pernah",
    "review_decision": "Keputusan",
    "review_confirm": "Konfirmasi",
    "review_end": "Akhiri",
    "review_overdue": "Terlambat",
    "review_not_yours": "Ditinjau petugas kepatuhan lain",
    "review_not_found": "Akun atau penugasan ini tidak ada dalam tinjauan.",
    "open_access_review": "Buka tinjauan hak akses",
    "role": "Peran",
    "alert_rule_access_review_overdue": "Tinjauan hak akses terlambat",
    "open_charts": "Grafik akses",
    "chart_window": "Pembacaan catatan dalam {days} hari terakhir.",
    "chart_refused_share": "Diizinkan: {allowed} · Ditolak: {denied}",
    "chart_per_organization": "Pembacaan per organisasi pembaca",
    "chart_per_purpose": "Pembacaan per tujuan",
    "chart_per_role": "Pembacaan per peran",
    "chart_organization": "Organisasi",
    "chart_break_glass_month": "Akses darurat dibuka per bulan",
    "chart_month": "Bulan",
    "chart_purpose": "Tujuan",
    "download_pdf": "Unduh PDF",
    "page_of": "Halaman {page} dari {pages} ({total} butir)",
    "page_previous": "Sebelumnya",
    "page_next": "Berikutnya",
    "pagination": "Halaman",
}

WORKBENCH_EN: dict[str, str] = {
    "report_proofs_title": "Inclusion proof of every read in the audit log",
    "report_proofs_intro": (
        "Each read above is in the vault's signed audit log. Anyone (a lawyer, a court) can "
        "check it without this vault, with tools/verify_log.py and the text below."
    ),
    "access_review": "Access review",
    "access_review_intro": (
        "Every active account and care-team assignment of your organisation, to be "
        "confirmed or ended. Anything not confirmed for {days} days is overdue."
    ),
    "review_overdue_count": "{count} accounts or assignments are overdue for review.",
    "review_up_to_date": "The access review is up to date.",
    "review_item": "Kind",
    "review_kind_account": "Account",
    "review_kind_assignment": "Care-team assignment",
    "review_since": "Since",
    "review_confirmed": "Last confirmed",
    "review_never": "never",
    "review_decision": "Decision",
    "review_confirm": "Confirm",
    "review_end": "End",
    "review_overdue": "Overdue",
    "review_not_yours": "Reviewed by another compliance officer",
    "review_not_found": "This account or assignment is not under review.",
    "open_access_review": "Open the access review",
    "role": "Role",
    "alert_rule_access_review_overdue": "Access review overdue",
    "open_charts": "Access charts",
    "chart_window": "Record reads in the last {days} days.",
    "chart_refused_share": "Allowed: {allowed} · Refused: {denied}",
    "chart_per_organization": "Reads per reading organisation",
    "chart_per_purpose": "Reads per purpose",
    "chart_per_role": "Reads per role",
    "chart_organization": "Organisation",
    "chart_break_glass_month": "Break-glass grants opened per month",
    "chart_month": "Month",
    "chart_purpose": "Purpose",
    "download_pdf": "Download PDF",
    "page_of": "Page {page} of {pages} ({total} items)",
    "page_previous": "Previous",
    "page_next": "Next",
    "pagination": "Pages",
}
