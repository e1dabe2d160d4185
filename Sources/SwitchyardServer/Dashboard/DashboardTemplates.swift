import Mustache

/// The dashboard's pages as Mustache templates compiled into the binary: no files to ship, no CDN. `{{x}}`
/// HTML-escapes everything it writes, so route names, key names and provider messages cannot inject markup;
/// no template uses the unescaped forms.
enum DashboardTemplates {
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in [
            ("header", header), ("footer", footer), ("login", login), ("overview", overview), ("providers", providers), ("keys", keys),
            ("requests", requests), ("request", request), ("events", events), ("usage_table", usageTable),
        ] {
            // The templates are constants checked by the tests: a broken one is a build defect, not a runtime state.
            try! library.register(text, named: name)
        }
        return library
    }()

    static let header = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · Switchyard</title><link rel="stylesheet" href="/dashboard/assets/style.css"><link rel="icon" href="/dashboard/assets/favicon.svg"></head>
        <body>
        {{#session}}
        <nav><strong>Switchyard</strong>
        <a href="/dashboard"{{#nav_overview}} aria-current="page"{{/nav_overview}}>Overview</a>
        <a href="/dashboard/providers"{{#nav_providers}} aria-current="page"{{/nav_providers}}>Providers</a>
        <a href="/dashboard/keys"{{#nav_keys}} aria-current="page"{{/nav_keys}}>Keys</a>
        <a href="/dashboard/requests"{{#nav_requests}} aria-current="page"{{/nav_requests}}>Requests</a>
        <a href="/dashboard/events"{{#nav_events}} aria-current="page"{{/nav_events}}>Live events</a>
        <form method="post" action="/dashboard/logout" class="logout"><input type="hidden" name="csrf" value="{{csrf}}"><button>Log out</button></form>
        </nav>
        {{/session}}
        <main><h1>{{title}}</h1>
        {{#notice}}<p class="notice">{{notice}}</p>{{/notice}}
        {{#problem}}<p class="problem">{{problem}}</p>{{/problem}}
        """

    static let footer = """
        </main></body></html>
        """

    static let login = """
        {{> header}}
        <form method="post" action="/dashboard/login" class="card">
        <label>Admin key <input type="password" name="admin_key" autocomplete="current-password" required autofocus></label>
        <button>Log in</button>
        </form>
        <p class="muted">The admin key is the config's <code>admin_key</code>. The session lasts {{lifetime}}; it ends when you log out.</p>
        {{> footer}}
        """

    static let overview = """
        {{> header}}
        <p>Window: {{#windows}}<a href="/dashboard?window={{name}}"{{#current}} aria-current="page"{{/current}}>{{label}}</a> {{/windows}}</p>
        <section class="cards">
        <div class="card"><span class="label">Requests</span><span class="value">{{totals.requests}}</span><span class="muted">{{totals.rate}} per second</span></div>
        <div class="card"><span class="label">Error rate</span><span class="value">{{totals.error_rate}}</span><span class="muted">{{totals.errors}} errors</span></div>
        <div class="card"><span class="label">Latency p50 / p99</span><span class="value">{{latency.p50}} / {{latency.p99}} ms</span><span class="muted">first byte p50 {{latency.ttfb_p50}} / p99 {{latency.ttfb_p99}} ms</span></div>
        <div class="card"><span class="label">Failovers</span><span class="value">{{latency.failovers}}</span><span class="muted">answered after another target failed</span></div>
        <div class="card"><span class="label">Cost today</span><span class="value">${{cost_today}}</span><span class="muted">this month ${{cost_month}}</span></div>
        </section>
        <p class="muted">Latencies and failovers from the last {{latency.sample}} requests of the window.</p>
        <h2>Per route</h2>
        {{#routes_table}}{{> usage_table}}{{/routes_table}}
        <h2>Per provider</h2>
        {{#providers_table}}{{> usage_table}}{{/providers_table}}
        {{> footer}}
        """

    static let usageTable = """
        <table><thead><tr><th>{{heading}}</th><th>Requests</th><th>Errors</th><th>Prompt tokens</th><th>Completion tokens</th><th>Cost (USD)</th><th></th></tr></thead><tbody>
        {{#rows}}<tr><td>{{group}}</td><td>{{requests}}</td><td>{{errors}}</td><td>{{prompt_tokens}}</td><td>{{completion_tokens}}</td><td>{{cost_usd}}</td>
        <td><svg width="120" height="10" role="img" aria-label="share of cost"><rect width="{{bar}}" height="10" fill="#3b6ea8"></rect></svg></td></tr>{{/rows}}
        {{^rows}}<tr><td colspan="7" class="muted">No requests in this window.</td></tr>{{/rows}}
        </tbody></table>
        """

    static let providers = """
        {{> header}}
        {{#providers}}
        <section class="card wide"><h2>{{name}} <span class="muted">{{type}}</span></h2>
        {{#drill}}<p class="problem">Fault drill running: {{kind}} on {{rate_percent}}% of attempts.
        <form method="post" action="/dashboard/providers/{{name}}/drill/stop" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><button>Stop drill</button></form></p>{{/drill}}
        <h3>Credentials</h3>
        <table><thead><tr><th>#</th><th>State</th><th>Since / until</th><th>Why</th><th>Last error</th><th>In flight</th></tr></thead><tbody>
        {{#credentials}}<tr class="state-{{state}}"><td>{{index}}</td><td>{{state}}</td><td>{{disabled_since}}{{cooling_down_until}}{{open_until}}</td><td>{{disabled_reason}}</td><td>{{last_error_kind}}</td><td>{{in_flight}}</td></tr>{{/credentials}}
        </tbody></table>
        <h3>Targets</h3>
        <table><thead><tr><th>Target</th><th>Circuit</th><th>Successes</th><th>Failures</th><th>Recent error rate</th><th>Latency (EWMA, s)</th><th>In flight</th><th>Openings</th><th>Last error</th></tr></thead><tbody>
        {{#targets}}<tr class="state-{{state}}"><td>{{target}}</td><td>{{state}}</td><td>{{successes}}</td><td>{{failures}}</td><td>{{recent_error_rate}}</td><td>{{latency_ewma_seconds}}</td><td>{{in_flight}}</td><td>{{circuit_openings}}</td><td>{{last_error_kind}}</td></tr>{{/targets}}
        </tbody></table>
        {{^drill}}
        <form method="post" action="/dashboard/providers/{{name}}/drill" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label>Fault drill: fail <input type="number" name="rate_percent" min="1" max="100" value="100" required>% of attempts with
        <select name="kind">{{#kinds}}<option>{{.}}</option>{{/kinds}}</select></label> <button>Start drill</button>
        </form>
        {{/drill}}
        </section>
        {{/providers}}
        {{> footer}}
        """

    static let keys = """
        {{> header}}
        {{#created}}<section class="card secret"><p>Key <strong>{{name}}</strong> created. Copy its secret now: it is shown this once.</p>
        <p><code>{{secret}}</code></p></section>{{/created}}
        <table><thead><tr><th>Name</th><th>Source</th><th>Models</th><th>Budget</th><th>Spent</th><th>Limits</th><th>Last used</th><th>Created</th><th></th></tr></thead><tbody>
        {{#keys}}<tr><td>{{name}}{{#disabled}} <span class="muted">(disabled)</span>{{/disabled}}</td><td>{{source}}</td><td>{{models_text}}</td>
        <td>{{#budget}}${{usd}} / {{period}}{{/budget}}</td><td>{{#budget}}${{spent_usd}}{{/budget}}</td><td>{{limits_text}}</td><td>{{last_used}}</td><td>{{created}}</td>
        <td>{{#managed}}<form method="post" action="/dashboard/keys/{{name}}/revoke" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><button>Revoke</button></form>
        <details><summary>Edit</summary><form method="post" action="/dashboard/keys/{{name}}/edit">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label>Models <input name="models" value="{{models_field}}"></label>
        <label>Budget in USD <input name="budget_usd" type="number" min="0" step="0.01" value="{{#budget}}{{usd}}{{/budget}}"></label>
        <label>per <select name="budget_period"><option{{#period_day}} selected{{/period_day}}>day</option><option{{#period_week}} selected{{/period_week}}>week</option><option{{#period_month}} selected{{/period_month}}>month</option></select></label>
        <label><span><input type="checkbox" name="disabled"{{#disabled}} checked{{/disabled}}> disabled</span></label>
        <button>Save</button></form></details>{{/managed}}</td></tr>{{/keys}}
        </tbody></table>
        <h2>Create a key</h2>
        <form method="post" action="/dashboard/keys" class="card">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label>Name <input name="name" pattern="[A-Za-z0-9._-]{1,64}" required></label>
        <label>Models (comma-separated routes or targets; empty for all) <input name="models"></label>
        <label>Budget in USD (optional) <input name="budget_usd" type="number" min="0" step="0.01"></label>
        <label>per <select name="budget_period"><option>day</option><option>week</option><option selected>month</option></select></label>
        <button>Create</button>
        </form>
        {{> footer}}
        """

    static let requests = """
        {{> header}}
        <form method="get" action="/dashboard/requests" class="filters">
        <label>Key <input name="key" value="{{filter.key}}"></label>
        <label>Route <input name="route" value="{{filter.route}}"></label>
        <label>Target <input name="target" value="{{filter.target}}"></label>
        <label>Status <input name="status" value="{{filter.status}}" size="4"></label>
        <label>Since <input name="since" value="{{filter.since}}" placeholder="2026-11-30T00:00:00Z"></label>
        <label>Until <input name="until" value="{{filter.until}}"></label>
        <button>Filter</button>
        </form>
        <table><thead><tr><th>Time</th><th>Request</th><th>Key</th><th>Route</th><th>Target</th><th>Status</th><th>Latency (ms)</th><th>First byte (ms)</th><th>Attempts</th><th>Cost (USD)</th></tr></thead><tbody>
        {{#requests}}<tr><td>{{time}}</td><td><a href="/dashboard/requests/{{id}}">{{id}}</a></td><td>{{key}}</td><td>{{route}}</td><td>{{target}}</td><td>{{status}}</td><td>{{latency_ms}}</td><td>{{ttfb_ms}}</td><td>{{attempt_count}}</td><td>{{cost_usd}}</td></tr>{{/requests}}
        {{^requests}}<tr><td colspan="10" class="muted">No requests match.</td></tr>{{/requests}}
        </tbody></table>
        {{> footer}}
        """

    static let request = """
        {{> header}}
        {{#entry}}
        <p>{{time}} · key {{key}} · route {{route}} · {{dialect}} · status {{status}} · {{latency_ms}} ms{{#stream}} · streamed{{/stream}}{{#cost_usd}} · ${{cost_usd}}{{/cost_usd}}</p>
        <h2>Attempts</h2>
        <svg width="640" height="{{timeline_height}}" role="img" aria-label="attempts timeline">
        {{#attempts}}<rect x="{{x}}" y="{{y}}" width="{{width}}" height="18" fill="{{color}}"></rect><text x="4" y="{{text_y}}" font-size="12">{{target}} #{{credential_index}} {{failure_kind}} {{latency_ms}} ms</text>{{/attempts}}
        </svg>
        <table><thead><tr><th>#</th><th>Target</th><th>Credential</th><th>Outcome</th><th>Status</th><th>Latency (ms)</th></tr></thead><tbody>
        {{#attempts}}<tr><td>{{number}}</td><td>{{target}}</td><td>{{credential_index}}</td><td>{{outcome}}</td><td>{{status}}</td><td>{{latency_ms}}</td></tr>{{/attempts}}
        </tbody></table>
        {{/entry}}
        {{> footer}}
        """

    static let events = """
        {{> header}}
        <p class="muted">Failovers, circuits opening and closing, credentials revoked and budgets crossed, as they happen (needs JavaScript).</p>
        <ol id="events" class="events"></ol>
        <script src="/dashboard/assets/events.js"></script>
        {{> footer}}
        """

    static let style = """
        body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
        nav{display:flex;gap:1em;align-items:center;padding:.6em 1.2em;background:#1d2330;color:#fff}
        nav a{color:#cfd8e6;text-decoration:none}nav a[aria-current]{color:#fff;font-weight:600}
        nav .logout{margin-left:auto}main{padding:1em 1.5em;max-width:1200px}
        table{border-collapse:collapse;width:100%;background:#fff;margin:.5em 0 1.5em}
        th,td{padding:.35em .6em;border-bottom:1px solid #e3e6eb;text-align:left;font-variant-numeric:tabular-nums}
        .cards{display:flex;flex-wrap:wrap;gap:1em}.card{background:#fff;border:1px solid #e3e6eb;border-radius:6px;padding:1em;display:flex;flex-direction:column;gap:.3em}
        .card.wide{display:block;margin-bottom:1.5em}.value{font-size:1.6em;font-weight:600}.label,.muted{color:#6b7487}
        .notice{background:#e7f4ea;padding:.6em}.problem{background:#fbeaea;padding:.6em}.secret code{font-size:1.1em}
        .state-revoked td,.state-circuit_open td{background:#fbeaea}.state-cooling_down td,.state-half_open td,.state-quota_exhausted td{background:#fff6e0}
        form.inline{display:inline}.filters{display:flex;flex-wrap:wrap;gap:.6em;align-items:end}label{display:flex;flex-direction:column;gap:.2em}
        .events li{font-family:ui-monospace,monospace;margin:.2em 0}
        """

    static let favicon = """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1d2330"/><path d="M3 11h10M3 5h10M8 5v6" stroke="#cfd8e6" stroke-width="2"/></svg>
        """

    /// The live feed's only script: reads the dashboard's server-sent events and lists them, newest first.
    static let eventsScript = """
        (function () {
          var list = document.getElementById("events");
          var source = new EventSource("/dashboard/events/stream");
          source.onmessage = function (message) {
            var event = JSON.parse(message.data);
            var item = document.createElement("li");
            item.textContent = event.time + "  " + event.kind + "  " + event.text;
            list.insertBefore(item, list.firstChild);
            while (list.children.length > 500) { list.removeChild(list.lastChild); }
          };
        })();
        """
}
