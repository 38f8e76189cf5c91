"""Every text of the kiosk and the dashboard in Bahasa Indonesia (the default)."""

ID: dict[str, str] = {
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
    "proofs_title": "Bukti bahwa daftar ini sama dengan catatan audit",
    "proofs_intro": (
        "Setiap pembacaan di atas tercatat dalam log audit yang ditandatangani. Kuasa hukum "
        "Anda dapat memeriksanya dengan tools/verify_log.py dan teks di bawah ini (juga ada "
        "dalam salinan data Anda)."
    ),
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
    "witness_quorum_missing": (
        "Saksi belum menandatangani tepat waktu: kepala pohon berukuran {size}, ditandatangani "
        "{time} UTC, baru memiliki {cosigned} / {quorum} tanda tangan saksi yang diwajibkan "
        "(begitu pula kepala sesudahnya)."
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
    "alert_rule_pin_disowned": "Seseorang berkata tidak memilih PIN-nya",
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
    "outcome_statistics": "Statistik hasil program",
    "statistics_intro": (
        "Warga binaan yang menyetujui statistik, menurut program dan tahun program berakhir. "
        "Sel dengan kurang dari {k} orang, dan setiap sel yang memungkinkan angka itu dihitung "
        "dari totalnya, disembunyikan: tidak menampilkan angka."
    ),
    "completion": "Program selesai",
    "employment": "Bekerja pada 6 bulan",
    "reoffending": "Mengulangi tindak pidana dalam 12 bulan",
    "suppressed": "disembunyikan",
    "all_values": "semua",
    "program": "Program",
    "period": "Tahun",
    "subjects_counted": "Jumlah orang",
    "minor_intro": (
        "Anda berusia di bawah 18 tahun. Wali Anda ikut menandatangani. Wali mengetik PIN"
        " wali sendiri."
    ),
    "guardian_name": "Nama lengkap wali, sesuai dokumen",
    "guardian_relation": "Hubungan dengan anak (misalnya ibu, ayah, wali)",
    "guardian_pin": "PIN wali",
    "assent_needed": "Anak harus menyatakan setuju, dan wali harus mengetik PIN wali sendiri.",
    "guardian_needed": "Anda berusia di bawah 18 tahun. Wali Anda harus ikut menandatangani.",
    "guardian_title": "Wali Anda",
    "guardian_intro": (
        "Anda berusia di bawah 18 tahun. Wali Anda ikut menandatangani. Petugas memeriksa"
        " kartu identitas wali dulu."
    ),
    "guardian_check_title": "1. Petugas: dokumen identitas wali",
    "guardian_document_type": "Jenis dokumen",
    "document_ktp": "KTP",
    "document_kk": "Kartu Keluarga",
    "document_passport": "Paspor",
    "document_sim": "SIM",
    "guardian_document_number": "Nomor dokumen",
    "guardian_witness_title": "2. Petugas kedua melihat dokumen, lalu masuk",
    "guardian_witness_intro": "Bukan petugas yang membuka sesi ini.",
    "one_time_code_optional": "Kode sekali pakai (jika diminta)",
    "guardian_pin_title": "3. Wali: buat PIN wali sendiri",
    "guardian_pin_intro": "Hanya wali yang tahu PIN ini. Anak dan petugas tidak boleh melihat.",
    "guardian_save": "Simpan data wali",
    "guardian_saved": "Data wali sudah tersimpan. Sekarang tanda tangani bersama.",
    "guardian_invalid": "Isi nama, hubungan, jenis dan nomor dokumen.",
    "guardian_witness_same": "Petugas kedua harus orang lain, bukan petugas yang membuka sesi ini.",
    "guardian_witness_refused": "Petugas ini tidak boleh memeriksa identitas di sini.",
    "pin_same_as_child": "PIN wali tidak boleh sama dengan PIN anak.",
    "guardian_pin_wrong": "PIN wali salah. Coba lagi.",
    "pin_origin": "PIN Anda dibuat pada {when}, di sesi petugas {who}.",
    "pin_origin_host": "PIN Anda dibuat pada {when}.",
    "pin_disown_intro": (
        "Apakah orang lain yang memilih PIN ini? Tekan tombol ini. PIN Anda berhenti "
        "berlaku, dan petugas kepatuhan diberi tahu."
    ),
    "pin_disown": "Saya tidak memilih PIN ini",
    "pin_disowned": (
        "PIN Anda diblokir. Petugas kepatuhan sudah diberi tahu. Petugas kedua harus "
        "setuju; lalu Anda membuat PIN baru."
    ),
    "pin_blocked": "PIN Anda diblokir. Petugas kedua harus setuju; lalu Anda membuat PIN baru.",
}
