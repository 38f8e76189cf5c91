"""Every text of the kiosk and the dashboard in English (the same keys as Bahasa Indonesia)."""

EN: dict[str, str] = {
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
    "proofs_title": "Proof that this list is what the audit log holds",
    "proofs_intro": (
        "Each read above is in the vault's signed audit log. Your lawyer can check it with "
        "tools/verify_log.py and the text below (also in the copy of your data)."
    ),
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
    "witness_quorum_missing": (
        "Witnesses have not cosigned in time: the tree head of size {size}, signed {time} UTC, "
        "has {cosigned} / {quorum} required cosignatures (nor does any later head)."
    ),
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
    "alert_rule_pin_disowned": "A person says they did not choose their PIN",
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
    "outcome_statistics": "Outcome statistics",
    "statistics_intro": (
        "Subjects who consented to statistics, by program and the year it ended. A cell of "
        "fewer than {k} subjects, and any cell that would let one be worked out from the "
        "totals, is suppressed: it shows no number."
    ),
    "completion": "Program completed",
    "employment": "Employed at 6 months",
    "reoffending": "Re-offended within 12 months",
    "suppressed": "suppressed",
    "all_values": "all",
    "program": "Program",
    "period": "Year",
    "subjects_counted": "Subjects",
    "minor_intro": (
        "You are under 18. Your guardian signs with you. The guardian types their own PIN."
    ),
    "guardian_name": "Guardian's full name, as on the document",
    "guardian_relation": "Relation to the child (for example mother, father, guardian)",
    "guardian_pin": "Guardian's PIN",
    "assent_needed": "The child must agree, and the guardian must type their own PIN.",
    "guardian_needed": "You are under 18. Your guardian must sign with you.",
    "guardian_title": "Your guardian",
    "guardian_intro": (
        "You are under 18. Your guardian signs with you. First the staff check the "
        "guardian's identity card."
    ),
    "guardian_check_title": "1. Staff: the guardian's identity document",
    "guardian_document_type": "Type of document",
    "document_ktp": "KTP (identity card)",
    "document_kk": "Kartu Keluarga (family card)",
    "document_passport": "Passport",
    "document_sim": "SIM (driving licence)",
    "guardian_document_number": "Document number",
    "guardian_witness_title": "2. A second staff member looks at the document and logs in",
    "guardian_witness_intro": "Not the staff member who opened this session.",
    "one_time_code_optional": "One-time code (if asked)",
    "guardian_pin_title": "3. Guardian: choose your own PIN",
    "guardian_pin_intro": (
        "Only the guardian knows this PIN. The child and the staff must not look."
    ),
    "guardian_save": "Save the guardian",
    "guardian_saved": "The guardian is saved. Now sign together.",
    "guardian_invalid": "Fill in the name, relation, type and number of the document.",
    "guardian_witness_same": (
        "The second staff member must be another person, not the one who opened this session."
    ),
    "guardian_witness_refused": "This staff member may not check identities here.",
    "pin_same_as_child": "The guardian's PIN must not be the child's PIN.",
    "guardian_pin_wrong": "The guardian's PIN is wrong. Try again.",
    "pin_origin": "Your PIN was made on {when}, in the session of staff member {who}.",
    "pin_origin_host": "Your PIN was made on {when}.",
    "pin_disown_intro": (
        "Did someone else choose this PIN? Press the button. Your PIN stops working, and "
        "the compliance officer is told."
    ),
    "pin_disown": "I did not choose this PIN",
    "pin_disowned": (
        "Your PIN is blocked. The compliance officer is told. A second staff member must "
        "agree; then you choose a new PIN."
    ),
    "pin_blocked": (
        "Your PIN is blocked. A second staff member must agree; then you choose a new PIN."
    ),
}
