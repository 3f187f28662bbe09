"""A packs tree in Attune's own format covering every kind, written for these tests."""

from __future__ import annotations

PACK = """\
ref: tools
label: "Tools Pack"
description: Everyday tools, written in Attune's format
version: "1.2.0"
author: Test Author
email: author@example.com
system: false
enabled: true
conf_schema:
  base_url:
    type: string
    required: true
  auth:
    type: object
    properties:
      token:
        type: string
        secret: true
  mirrors:
    type: array
    items:
      type: object
      properties:
        password:
          type: string
          secret: true
config:
  base_url: https://example.com
  auth:
    token: hunter2
  mirrors:
    - password: swordfish
meta:
  homepage: https://example.com/tools
tags: [tools, demo]
runtime_deps:
  - shell
  - "python>=3.10"
testing:
  enabled: false
"""

RUNTIME = """\
ref: tools.ruby
pack_ref: tools
name: Ruby
aliases: [RB, rb2]
description: The Ruby interpreter
distributions:
  debian: {packages: [ruby]}
installation:
  check: ruby --version
execution_config:
  interpreter: {binary: ruby, args: []}
versions:
  - version: "3.3.0"
    is_default: true
"""

TICK = """\
ref: tools.tick
label: Tick
description: Fires on every tick
enabled: true
type: interval
tags: [timer]
parameters:
  unit:
    type: string
    enum: [seconds, minutes]
    required: true
output:
  fired_at:
    type: string
examples:
  - unit: seconds
"""

LEGACY = """\
name: legacy
description: Written with the seed API's names
param_schema:
  type: object
  properties:
    level: {type: integer}
out_schema:
  type: object
  properties:
    message: {type: string}
"""

CLOCK = """\
ref: tools.clock
description: Watches the clock
runner_type: standalone
entry_point: attune-clock-sensor
trigger_types:
  - tick
  - tools.legacy
parameters:
  every:
    type: integer
    default: 60
poll_interval: 30
tags: [timer]
meta: {builtin: true}
"""

GREET = """\
ref: tools.greet
label: Greet
description: Says hello
enabled: true
runner_type: rb
entry_point: greet.rb
parameter_delivery: file
parameter_format: yaml
output_format: json
parameters:
  name:
    type: string
    required: true
  count:
    type: integer
output_schema:
  type: array
  items:
    type: string
tags: [demo]
timeout: 30
"""

FLOW = """\
ref: tools.flow
description: A workflow action
workflow_file: workflows/flow.yaml
parameters:
  target:
    type: string
"""

WORKFLOW = """\
version: "1.0.0"
tasks:
  - name: first
    action: tools.greet
"""

NOTHING = """\
description: Runs on a runtime nobody has
runner_type: cobol
entry_point: run.cbl
"""

RULE = """\
ref: on_tick
description: Greets on every tick
trigger_ref: tick
action_ref: greet
conditions:
  - field: payload.unit
    operator: equals
    value: seconds
action_params:
  name: "{{ trigger.payload.who }}"
  count: 3
trigger_params:
  unit: seconds
permission_set_refs: tools.runner
"""


def attune_tree() -> dict[str, str]:
    """relpath -> text for one pack holding every kind, plus folders that are skipped."""
    return {
        "tools/pack.yaml": PACK,
        "tools/runtimes/ruby.yaml": RUNTIME,
        "tools/triggers/tick.yaml": TICK,
        "tools/triggers/legacy.yml": LEGACY,
        "tools/sensors/clock.yaml": CLOCK,
        "tools/actions/greet.yaml": GREET,
        "tools/actions/flow.yaml": FLOW,
        "tools/actions/workflows/flow.yaml": WORKFLOW,
        "tools/actions/nothing.yaml": NOTHING,
        "tools/actions/greet.rb": "puts 'hello'\n",
        "tools/rules/on_tick.yaml": RULE,
        "tools/permission_sets/runner.yaml": "ref: tools.runner\ngrants: []\n",
        "tools/workflows/standalone.yaml": "ref: tools.standalone\nversion: '1'\n",
        "tools/README.md": "# Tools\n",
    }
