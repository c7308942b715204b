-- wrk script: POST the reference sample report to /report.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"report": {"total_events": 5805, "total_errors": 1398, "by_event_type": {"ADD_TO_CART": {"SUCCESS": 876, "ERROR": 292}, "CHECKOUT": {"SUCCESS": 846, "ERROR": 289}, "PAYMENT": {"SUCCESS": 884, "ERROR": 281}, "SEARCH": {"SUCCESS": 933, "ERROR": 261}, "VIEW_PRODUCT": {"SUCCESS": 868, "ERROR": 275}}, "process_time": 22.15983009338379, "file_name": "2025-08-04_19-04.json"}}'
