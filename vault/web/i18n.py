"""The words of the kiosk and the dashboard, in Bahasa Indonesia and English.

Consent forms carry their own text (``policies/consent-forms``); these are the
words around them. Every language has the same keys (a test checks it).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

DEFAULT_LANGUAGE = "id"
LANGUAGES = ("id", "en")
LANGUAGE_NAMES = {"id": "Bahasa Indonesia", "en": "English"}

_ID: dict[str, str] = {
    "app_name": "Brankas Data Rehabilitasi",
    "skip_to_content": "Lompat ke isi",
    "kiosk": "Kios persetujuan",
    "language": "Bahasa",
    "switch_language": "Ganti bahasa",
    "finish": "Selesai",
    "staff_login_title": "Masuk petugas",
    "staff_login_intro": "Petugas masuk di sini, lalu membuka sesi untuk satu warga binaan.",
    "username": "Nama pengguna",
    "password": "Kata sandi",
    "log_in": "Masuk",
    "login_failed": "Nama pengguna atau kata sandi salah.",
    "login_role_refused": "Peran Anda tidak boleh memakai halaman ini.",
    "too_many_attempts": "Terlalu banyak percobaan. Tunggu sebentar, lalu coba lagi.",
    "start_title": "Buka sesi tanda tangan",
    "start_intro": "Masukkan ID warga binaan. Setelah itu berikan tablet kepadanya.",
    "subject_id": "ID warga binaan",
    "register_number": "atau nomor register",
    "sentra": "Sentra Kemensos tujuan (jika ada)",
    "sentra_none": "Tidak ada",
    "sentra_unknown": "Pilih sentra Kemensos dari daftar.",
    "start_language": "Bahasa untuk warga binaan",
    "open_session": "Buka sesi dan serahkan tablet",
    "subject_not_found": "Warga binaan tidak ditemukan di organisasi Anda.",
    "log_out": "Keluar",
    "home_title": "Selamat datang",
    "home_intro": (
        "Di sini Anda bisa membaca dan menandatangani persetujuan. Anda juga bisa melihat "
        "siapa yang membaca data Anda."
    ),
    "sign_form": "Baca dan tanda tangani formulir",
    "my_consents": "Persetujuan saya",
    "who_read": "Siapa yang membaca data saya",
    "my_data": "Salinan data saya",
    "my_data_title": "Salinan semua data Anda",
    "my_data_intro": (
        "Anda berhak mendapat salinan semua data Anda. Masukkan PIN Anda. "
        "Tablet akan membuat file untuk Anda. Petugas bisa mencetaknya."
    ),
    "my_data_confirm": "Buat salinan",
    "start_reading": "Mulai membaca",
    "purpose_of": "Tujuan {n} dari {total}",
    "data_used": "Data yang dipakai",
    "who_may_see": "Siapa yang boleh melihat",
    "accept": "Ya, saya setuju",
    "refuse": "Tidak, saya tidak setuju",
    "back": "Kembali",
    "summary_title": "Ringkasan pilihan Anda",
    "summary_intro": "Periksa pilihan Anda. Anda bisa mengubahnya sebelum tanda tangan.",
    "accepted": "Setuju",
    "refused": "Tidak setuju",
    "change": "Ubah",
    "continue_to_sign": "Lanjut ke tanda tangan",
    "sign_title": "Tanda tangan dengan PIN",
    "sign_intro": "Masukkan PIN Anda untuk menandatangani pilihan Anda.",
    "pin": "PIN Anda",
    "sign": "Tanda tangani",
    "minor_intro": "Anda berusia di bawah 18 tahun. Orang tua atau wali Anda ikut menandatangani.",
    "guardian_name": "Nama orang tua atau wali",
    "guardian_relation": "Hubungan dengan anak (misalnya ibu, ayah, wali)",
    "guardian_pin": "PIN wali (jika ada)",
    "child_assent": "Saya (anak) sudah mendengar penjelasan ini dan saya setuju.",
    "choose_pin_title": "Buat PIN Anda",
    "choose_pin_intro": (
        "PIN adalah angka rahasia Anda. Hanya Anda yang tahu. Petugas tidak boleh melihat."
    ),
    "choose_pin_rules": (
        "Pakai 6 angka atau lebih. Jangan pakai tanggal lahir. Jangan pakai 111111 atau 123456."
    ),
    "pin_again": "Ketik PIN yang sama sekali lagi",
    "save_pin": "Simpan PIN",
    "pin_saved": "PIN Anda sudah tersimpan. Ingat PIN ini. Jangan beri tahu siapa pun.",
    "pin_too_short": "PIN harus 6 angka atau lebih.",
    "pin_same_digit": "Semua angkanya sama. Pilih PIN lain.",
    "pin_run": "Angkanya berurutan. Pilih PIN lain.",
    "pin_birth_date": "Itu tanggal lahir Anda. Pilih PIN lain.",
    "pin_mismatch": "Kedua PIN tidak sama. Coba lagi.",
    "pin_registrar": (
        "Petugas yang mendaftarkan Anda tidak boleh membuka sesi ini. Minta petugas lain."
    ),
    "forgot_pin": "Saya lupa PIN",
    "reset_title": "Lupa PIN",
    "reset_waiting": "Petugas kedua harus setuju dulu. Petugas memakai nomor ini:",
    "reset_check": "Periksa lagi",
    "reset_ready": "Petugas kedua sudah setuju. Sekarang buat PIN baru.",
    "wrong_pin": "PIN salah. Coba lagi.",
    "pin_locked": "Terlalu banyak PIN salah. Minta bantuan petugas.",
    "assent_needed": "Anak harus menyatakan setuju, dan nama serta hubungan wali harus diisi.",
    "receipt_title": "Tanda terima persetujuan",
    "receipt_intro": "Persetujuan Anda sudah tersimpan dan ditandatangani oleh sistem.",
    "verification_code": "Kode verifikasi",
    "verification_help": "Petugas bisa memeriksa tanda terima ini dengan kode ini.",
    "receipt_id": "Nomor tanda terima",
    "signed_at": "Waktu tanda tangan",
    "valid_until": "Berlaku sampai",
    "back_home": "Kembali ke awal",
    "consents_title": "Persetujuan saya yang aktif",
    "pin_first_intro": (
        "Ketik PIN Anda untuk membuka halaman ini. Petugas tidak boleh melihat layar atau PIN Anda."
    ),
    "pin_show": "Tampilkan",
    "no_consents": "Anda belum punya persetujuan aktif.",
    "form": "Formulir",
    "purposes_given": "Tujuan yang Anda setujui",
    "withdraw": "Tarik persetujuan ini",
    "withdraw_title": "Tarik persetujuan",
    "withdraw_intro": (
        "Jika Anda menarik persetujuan ini, data Anda tidak dibaca lagi untuk tujuan ini, "
        "mulai sekarang. Program wajib tetap berjalan."
    ),
    "withdraw_confirm": "Ya, tarik persetujuan",
    "withdrawn_notice": "Persetujuan sudah ditarik.",
    "reason": "Alasan (tidak wajib)",
    "disclosures_title": "Siapa yang membaca data saya",
    "disclosures_intro": (
        "Daftar ini menunjukkan siapa yang membuka data Anda, kapan, dan untuk apa."
    ),
    "no_disclosures": "Belum ada yang membaca data Anda.",
    "when": "Kapan",
    "who": "Siapa",
    "what": "Data apa",
    "why": "Untuk apa",
    "result": "Hasil",
    "allowed": "diizinkan",
    "denied": "ditolak",
    "emergency": "darurat",
    "ended_title": "Sesi selesai",
    "ended_intro": "Terima kasih. Kembalikan tablet kepada petugas.",
    "expired_intro": "Sesi berakhir karena tidak dipakai. Kembalikan tablet kepada petugas.",
    "csrf_failed": "Formulir ini sudah tidak berlaku. Silakan coba lagi.",
    "not_found": "Halaman tidak ditemukan.",
    "dashboard": "Dasbor kepatuhan",
    "dashboard_login_title": "Masuk petugas kepatuhan",
    "accesses_per_day": "Akses per hari",
    "break_glass_queue": "Akses darurat menunggu tinjauan",
    "break_glass_openers": "Akses darurat: siapa yang paling sering membuka (30 hari)",
    "grants_opened": "Akses dibuka",
    "chain_status": "Status rantai audit",
    "filters": "Filter",
    "export": "Ekspor",
    "events": "Peristiwa",
    "one_time_code": "Kode sekali pakai (jika diminta)",
    "duration_label": "Berapa lama",
    "rights_label": "Hak Anda",
    "withdraw_label": "Cara menarik persetujuan",
    "your_choice": "Pilihan Anda",
    "purpose": "Tujuan",
    "chain_ok": "Rantai utuh: {events} peristiwa, {checkpoints} checkpoint diperiksa.",
    "chain_broken": "RANTAI RUSAK mulai nomor urut {seq}.",
    "consent_integrity": "Persetujuan dan tim pendamping dibandingkan dengan log audit",
    "access_agree": "Semua penugasan dan akses darurat sesuai dengan log audit.",
    "access_disagree": (
        "{count} penugasan atau akses darurat tidak sesuai dengan log audit: ditulis di luar "
        "vault. Keputusan tidak memakainya; cari tahu siapa yang menulisnya."
    ),
    "consents_agree": "Semua persetujuan sesuai dengan log audit.",
    "consents_disagree": (
        "{count} persetujuan tidak sesuai dengan log audit: baris tabelnya diubah di luar "
        "vault. Pembacaan tidak memakainya; cari tahu siapa yang mengubahnya."
    ),
    "last_checkpoint": "Checkpoint terakhir",
    "none": "Tidak ada",
    "actor": "Pelaku (ID)",
    "subject": "Warga binaan (ID)",
    "action": "Tindakan",
    "decision": "Keputusan",
    "since": "Dari tanggal",
    "until": "Sampai tanggal",
    "any": "Semua",
    "apply": "Terapkan",
    "bad_filter": "Filter tidak valid",
    "api_export": "Lewat API (token bearer)",
    "justification": "Alasan tertulis",
    "review": "Tinjau",
    "justified": "Dapat dibenarkan",
    "unjustified": "Tidak dapat dibenarkan",
    "chain_never_verified": (
        'Rantai belum pernah diverifikasi. Tekan "Verifikasi sekarang" atau jalankan '
        "vault audit verify."
    ),
    "chain_ok_stored": (
        "Rantai utuh pada verifikasi terakhir: {events} peristiwa (verifikasi #{seq}, {time})."
    ),
    "chain_checked_at": "diperiksa {time}",
    "verify_now": "Verifikasi sekarang",
    "alerts": "Peringatan",
    "alerts_open": "{count} peringatan belum ditinjau dari {total}.",
    "alert_rule": "Aturan",
    "alert_count": "Jumlah peristiwa",
    "acknowledge": "Tandai sudah ditinjau",
    "acknowledged": "Sudah ditinjau",
    "alert_note": "Catatan",
    "alert_rule_bulk_read": "Banyak warga binaan dibaca dalam satu jam",
    "alert_rule_after_hours": "Dibaca di luar jam kerja",
    "alert_rule_break_glass_frequent": "Akses darurat terlalu sering",
    "alert_rule_ended_assignment_read": "Dibaca setelah penugasan berakhir",
    "alert_rule_denied_burst": "Banyak pembacaan ditolak berturut-turut",
    "alert_rule_new_address": "Login peran istimewa dari alamat baru",
    "alert_rule_honeytoken": "Data umpan disentuh",
    "find_subject": "Cari warga binaan",
    "find_subject_help": (
        "Nomor dicocokkan lewat indeks buta: tidak disimpan, tidak dicatat, tidak masuk alamat."
    ),
    "identifier_kind": "Jenis nomor",
    "register_number_label": "Nomor register",
    "identifier": "Nomor",
    "find": "Cari",
    "disclosures_report": "Laporan pengungkapan data",
    "report_made_at": "Dibuat",
    "report_basis": "Dasar (persetujuan atau akses darurat)",
    "report_consent": "persetujuan",
    "report_seal": (
        "Sidik laporan ini tercatat di log audit. Cocokkan dengan peristiwa audit.disclosures."
    ),
    "open_report": "Laporan pengungkapan",
    "chart_table": "Angka di balik grafik (tabel)",
    "report_no_disclosures": "Tidak ada pengungkapan data warga binaan ini yang tercatat.",
}

_EN: dict[str, str] = {
    "app_name": "Rehabilitation Records Vault",
    "skip_to_content": "Skip to content",
    "kiosk": "Consent kiosk",
    "language": "Language",
    "switch_language": "Change language",
    "finish": "Finish",
    "staff_login_title": "Staff login",
    "staff_login_intro": "Staff log in here, then open a session for one person.",
    "username": "Username",
    "password": "Password",
    "log_in": "Log in",
    "login_failed": "Wrong username or password.",
    "login_role_refused": "Your role may not use this page.",
    "too_many_attempts": "Too many attempts. Wait a moment, then try again.",
    "start_title": "Open a signing session",
    "start_intro": "Enter the person's id. Then hand them the tablet.",
    "subject_id": "Person's id",
    "register_number": "or register number",
    "sentra": "Kemensos sentra receiving the handover (if any)",
    "sentra_none": "None",
    "sentra_unknown": "Choose a Kemensos sentra from the list.",
    "start_language": "Language for the person",
    "open_session": "Open the session and hand over the tablet",
    "subject_not_found": "No such person in your organisation.",
    "log_out": "Log out",
    "home_title": "Welcome",
    "home_intro": "Here you can read and sign your consent. You can also see who read your data.",
    "sign_form": "Read and sign the form",
    "my_consents": "My consents",
    "who_read": "Who read my data",
    "my_data": "A copy of my data",
    "my_data_title": "A copy of all your data",
    "my_data_intro": (
        "You have the right to a copy of all your data. Enter your PIN. "
        "The tablet makes a file for you. The staff can print it."
    ),
    "my_data_confirm": "Make the copy",
    "start_reading": "Start reading",
    "purpose_of": "Purpose {n} of {total}",
    "data_used": "Data used",
    "who_may_see": "Who may see it",
    "accept": "Yes, I agree",
    "refuse": "No, I do not agree",
    "back": "Back",
    "summary_title": "Summary of your choices",
    "summary_intro": "Check your choices. You can change them before you sign.",
    "accepted": "Agreed",
    "refused": "Not agreed",
    "change": "Change",
    "continue_to_sign": "Continue to signing",
    "sign_title": "Sign with your PIN",
    "sign_intro": "Enter your PIN to sign your choices.",
    "pin": "Your PIN",
    "sign": "Sign",
    "minor_intro": "You are under 18. Your parent or guardian signs with you.",
    "guardian_name": "Name of the parent or guardian",
    "guardian_relation": "Relation to the child (for example mother, father, guardian)",
    "guardian_pin": "Guardian's PIN (if any)",
    "child_assent": "I (the child) have heard this explanation and I agree.",
    "choose_pin_title": "Choose your PIN",
    "choose_pin_intro": (
        "Your PIN is your secret number. Only you know it. The staff must not look."
    ),
    "choose_pin_rules": (
        "Use 6 digits or more. Do not use your birthday. Do not use 111111 or 123456."
    ),
    "pin_again": "Type the same PIN again",
    "save_pin": "Save PIN",
    "pin_saved": "Your PIN is saved. Remember it. Do not tell anyone.",
    "pin_too_short": "The PIN needs 6 digits or more.",
    "pin_same_digit": "All the digits are the same. Choose another PIN.",
    "pin_run": "The digits are in a row. Choose another PIN.",
    "pin_birth_date": "That is your birthday. Choose another PIN.",
    "pin_mismatch": "The two PINs are not the same. Try again.",
    "pin_registrar": (
        "The staff member who registered you may not open this session. Ask another one."
    ),
    "forgot_pin": "I forgot my PIN",
    "reset_title": "Forgotten PIN",
    "reset_waiting": "A second staff member must agree first. The staff use this number:",
    "reset_check": "Check again",
    "reset_ready": "The second staff member agreed. Now choose a new PIN.",
    "wrong_pin": "Wrong PIN. Try again.",
    "pin_locked": "Too many wrong PINs. Ask the staff for help.",
    "assent_needed": (
        "The child must agree, and the guardian's name and relation must be filled in."
    ),
    "receipt_title": "Consent receipt",
    "receipt_intro": "Your consent is saved and signed by the system.",
    "verification_code": "Verification code",
    "verification_help": "Staff can check this receipt with this code.",
    "receipt_id": "Receipt number",
    "signed_at": "Signed at",
    "valid_until": "Valid until",
    "back_home": "Back to the start",
    "consents_title": "My active consents",
    "pin_first_intro": (
        "Type your PIN to open this page. Staff must not see the screen or your PIN."
    ),
    "pin_show": "Show",
    "no_consents": "You have no active consent yet.",
    "form": "Form",
    "purposes_given": "Purposes you agreed to",
    "withdraw": "Take back this consent",
    "withdraw_title": "Take back your consent",
    "withdraw_intro": (
        "If you take back this consent, your data is no longer read for these purposes, "
        "starting now. The required program goes on."
    ),
    "withdraw_confirm": "Yes, take it back",
    "withdrawn_notice": "The consent is taken back.",
    "reason": "Reason (optional)",
    "disclosures_title": "Who read my data",
    "disclosures_intro": "This list shows who opened your data, when, and why.",
    "no_disclosures": "Nobody has read your data yet.",
    "when": "When",
    "who": "Who",
    "what": "Which data",
    "why": "Why",
    "result": "Result",
    "allowed": "allowed",
    "denied": "refused",
    "emergency": "emergency",
    "ended_title": "Session finished",
    "ended_intro": "Thank you. Please give the tablet back to the staff.",
    "expired_intro": (
        "The session ended because it was not used. Please give the tablet back to the staff."
    ),
    "csrf_failed": "This form has expired. Please try again.",
    "not_found": "Page not found.",
    "dashboard": "Compliance dashboard",
    "dashboard_login_title": "Compliance officer login",
    "accesses_per_day": "Accesses per day",
    "break_glass_queue": "Emergency accesses awaiting review",
    "break_glass_openers": "Break-glass: who opens most (last 30 days)",
    "grants_opened": "Grants opened",
    "chain_status": "Audit chain status",
    "filters": "Filters",
    "export": "Export",
    "events": "Events",
    "one_time_code": "One-time code (if asked)",
    "duration_label": "How long",
    "rights_label": "Your rights",
    "withdraw_label": "How to take back your consent",
    "your_choice": "Your choice",
    "purpose": "Purpose",
    "chain_ok": "Chain intact: {events} events, {checkpoints} checkpoints verified.",
    "chain_broken": "CHAIN BROKEN from sequence number {seq}.",
    "consent_integrity": "Consents and care teams against the audit log",
    "access_agree": "Every assignment and emergency grant agrees with the audit log.",
    "access_disagree": (
        "{count} assignment(s) or emergency grant(s) contradict the audit log: written outside "
        "the vault. Decisions do not use them; find out who wrote them."
    ),
    "consents_agree": "Every consent agrees with the audit log.",
    "consents_disagree": (
        "{count} consent(s) contradict the audit log: their rows were changed outside the "
        "vault. Reads do not use them; find out who changed them."
    ),
    "last_checkpoint": "Last checkpoint",
    "none": "None",
    "actor": "Actor (id)",
    "subject": "Subject (id)",
    "action": "Action",
    "decision": "Decision",
    "since": "From date",
    "until": "To date",
    "any": "Any",
    "apply": "Apply",
    "bad_filter": "Invalid filter",
    "api_export": "Through the API (bearer token)",
    "justification": "Written justification",
    "review": "Review",
    "justified": "Justified",
    "unjustified": "Unjustified",
    "chain_never_verified": (
        'The chain was never verified. Press "Verify now" or run vault audit verify.'
    ),
    "chain_ok_stored": (
        "Chain intact at the last verification: {events} events (verification #{seq}, {time})."
    ),
    "chain_checked_at": "checked {time}",
    "verify_now": "Verify now",
    "alerts": "Alerts",
    "alerts_open": "{count} of {total} alerts not reviewed yet.",
    "alert_rule": "Rule",
    "alert_count": "Events",
    "acknowledge": "Mark reviewed",
    "acknowledged": "Reviewed",
    "alert_note": "Note",
    "alert_rule_bulk_read": "Many subjects read in one hour",
    "alert_rule_after_hours": "Read outside working hours",
    "alert_rule_break_glass_frequent": "Break-glass opened too often",
    "alert_rule_ended_assignment_read": "Read after the assignment ended",
    "alert_rule_denied_burst": "A burst of refused reads",
    "alert_rule_new_address": "Privileged login from a new address",
    "alert_rule_honeytoken": "A decoy subject was touched",
    "find_subject": "Find a subject",
    "find_subject_help": (
        "The number is matched through the blind index: not stored, not logged, not in the URL."
    ),
    "identifier_kind": "Kind of number",
    "register_number_label": "Register number",
    "identifier": "Number",
    "find": "Find",
    "disclosures_report": "Accounting of disclosures",
    "report_made_at": "Made",
    "report_basis": "Basis (consent or emergency access)",
    "report_consent": "consent",
    "report_seal": (
        "This report's digest is recorded in the audit log. Compare it with the "
        "audit.disclosures event."
    ),
    "open_report": "Accounting of disclosures",
    "chart_table": "The numbers behind the chart (table)",
    "report_no_disclosures": "No disclosure of this subject's data is recorded.",
}

MESSAGES: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {"id": MappingProxyType(_ID), "en": MappingProxyType(_EN)}
)


def language_or_default(lang: str | None) -> str:
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def messages(lang: str | None) -> Mapping[str, str]:
    return MESSAGES[language_or_default(lang)]
