"""The curl examples of the two seed documents, verbatim."""

# Pack Management API
LIST_PACKS = """curl -X GET "http://localhost:3000/api/v1/packs?page=1&per_page=20" \\
-H "Authorization: Bearer YOUR_TOKEN\""""
GET_PACK = """curl -X GET "http://localhost:3000/api/v1/packs/aws.ec2" \\
-H "Authorization: Bearer YOUR_TOKEN\""""
CREATE_PACK = """curl -X POST "http://localhost:3000/api/v1/packs" \\
-H "Authorization: Bearer YOUR_TOKEN" \\
-H "Content-Type: application/json" \\
-d '{
"ref": "slack.notifications",
"label": "Slack Notifications Pack",
"description": "Actions for sending Slack notifications",
"version": "1.0.0",
"tags": ["slack", "notifications"],
"is_standard": false
}'"""
UPDATE_PACK = """curl -X PUT "http://localhost:3000/api/v1/packs/slack.notifications" \\
-H "Authorization: Bearer YOUR_TOKEN" \\
-H "Content-Type: application/json" \\
-d '{
"version": "1.1.0",
"description": "Enhanced Slack notifications with rich formatting"
}'"""
DELETE_PACK = """curl -X DELETE "http://localhost:3000/api/v1/packs/slack.notifications" \\
-H "Authorization: Bearer YOUR_TOKEN\""""
PACK_ACTIONS = """curl -X GET "http://localhost:3000/api/v1/packs/aws.ec2/actions" \\
-H "Authorization: Bearer YOUR_TOKEN\""""
PACK_TRIGGERS = """curl -X GET "http://localhost:3000/api/v1/packs/aws.ec2/triggers" \\
-H "Authorization: Bearer YOUR_TOKEN\""""
PACK_RULES = """curl -X GET "http://localhost:3000/api/v1/packs/aws.ec2/rules" \\
-H "Authorization: Bearer YOUR_TOKEN\""""

# "Creating a Complete Pack"
SCRIPT_PACK = """curl -X POST "http://localhost:3000/api/v1/packs" \\
-H "Authorization: Bearer $TOKEN" \\
-H "Content-Type: application/json" \\
-d '{
"ref": "monitoring.healthcheck",
"label": "Health Check Monitoring",
"description": "Monitor endpoint health",
"version": "1.0.0",
"tags": ["monitoring", "health"],
"is_standard": false
}'"""
SCRIPT_TRIGGER = """curl -X POST "http://localhost:3000/api/v1/triggers" \\
-H "Authorization: Bearer $TOKEN" \\
-H "Content-Type: application/json" \\
-d '{
"ref": "monitoring.healthcheck.endpoint_down",
"pack_ref": "monitoring.healthcheck",
"label": "Endpoint Down",
"description": "Triggered when endpoint is unreachable"
}'"""
SCRIPT_ACTION = """curl -X POST "http://localhost:3000/api/v1/actions" \\
-H "Authorization: Bearer $TOKEN" \\
-H "Content-Type: application/json" \\
-d '{
"ref": "monitoring.healthcheck.send_alert",
"pack_ref": "monitoring.healthcheck",
"label": "Send Alert",
"description": "Send notification about endpoint status",
"entrypoint": "actions/send_alert.py",
"runtime": 1
}'"""
SCRIPT_RULE = """curl -X POST "http://localhost:3000/api/v1/rules" \\
-H "Authorization: Bearer $TOKEN" \\
-H "Content-Type: application/json" \\
-d '{
"ref": "monitoring.healthcheck.alert_on_down",
"pack_ref": "monitoring.healthcheck",
"label": "Alert on Down",
"description": "Send alert when endpoint goes down",
"action_ref": "monitoring.healthcheck.send_alert",
"trigger_ref": "monitoring.healthcheck.endpoint_down",
"enabled": true
}'"""

# "Listing Pack Components"
LISTING_SCRIPT = [
    """curl -s "http://localhost:3000/api/v1/packs/$PACK_REF" \\
-H "Authorization: Bearer $TOKEN\"""",
    """curl -s "http://localhost:3000/api/v1/packs/$PACK_REF/actions" \\
-H "Authorization: Bearer $TOKEN\"""",
    """curl -s "http://localhost:3000/api/v1/packs/$PACK_REF/triggers" \\
-H "Authorization: Bearer $TOKEN\"""",
    """curl -s "http://localhost:3000/api/v1/packs/$PACK_REF/rules" \\
-H "Authorization: Bearer $TOKEN\"""",
]

# Trigger and Sensor Management API
CUSTOM_TRIGGER = """curl -X POST http://localhost:3000/api/v1/triggers \\
  -H "Content-Type: application/json" \\
  -d '{
    "ref": "myapp.user_signup",
    "pack_ref": "myapp",
    "label": "User Signup",
    "description": "Triggered when a new user signs up",
    "param_schema": {
      "type": "object",
      "properties": {
        "user_id": { "type": "string" },
        "email": { "type": "string", "format": "email" },
        "plan": { "type": "string" }
      },
      "required": ["user_id", "email"]
    }
  }'"""
TIMER_TRIGGER = """curl -X POST http://localhost:3000/api/v1/triggers \\
  -H "Content-Type: application/json" \\
  -d '{
    "ref": "core.timer",
    "pack_ref": "core",
    "label": "Timer",
    "description": "Schedule-based trigger",
    "param_schema": {
      "type": "object",
      "properties": {
        "cron": { "type": "string" }
      }
    }
  }'"""
MEMORY_SENSOR = """curl -X POST http://localhost:3000/api/v1/sensors \\
  -H "Content-Type: application/json" \\
  -d '{
    "ref": "monitoring.memory_sensor",
    "pack_ref": "monitoring",
    "label": "Memory Monitor",
    "description": "Monitors memory usage",
    "entrypoint": "/sensors/memory_monitor.py",
    "runtime_ref": "python3",
    "trigger_ref": "system.memory_alert",
    "param_schema": {
      "type": "object",
      "properties": {
        "threshold_percent": { "type": "number", "default": 85 },
        "interval_seconds": { "type": "integer", "default": 120 }
      }
    }
  }'"""
SENSORS_OF_TRIGGER = "curl http://localhost:3000/api/v1/triggers/system.cpu_alert/sensors"
DISABLE_SENSOR = "curl -X POST http://localhost:3000/api/v1/sensors/monitoring.cpu_sensor/disable"
