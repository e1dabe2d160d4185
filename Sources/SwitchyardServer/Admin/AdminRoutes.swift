import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwitchyardCore

/// `/admin/...` endpoints, behind the admin key.
struct AdminRoutes: Sendable {
    let gateway: Gateway

    func register(on router: Router<GatewayRequestContext>) {
        router.get("/admin/providers") { request, _ in
            guard gateway.isAdmin(authorization: request.headers[.authorization]) else { return Self.unauthorized() }
            let snapshot = gateway.snapshot
            return Self.json(ProviderHealthReport.make(table: snapshot.table, now: snapshot.executor.loop.timeSource.now))
        }
        router.post("/admin/reload") { request, _ in
            guard gateway.isAdmin(authorization: request.headers[.authorization]) else { return Self.unauthorized() }
            do {
                let snapshot = try gateway.reload()
                return Self.json(["status": "reloaded", "providers": .int(snapshot.table.providers.count), "routes": .int(snapshot.table.routes.count)])
            } catch {
                return Self.badRequest("The config was not reloaded: \((error as? ConfigError)?.description ?? "unknown error")")
            }
        }
        router.get("/admin/faults") { request, _ in
            guard gateway.isAdmin(authorization: request.headers[.authorization]) else { return Self.unauthorized() }
            return Self.json(Self.faultsJSON(gateway.executor.faults.all))
        }
        // Drills: `{"provider": "oai", "kind": "overloaded", "rate": 0.5}` makes half of oai's attempts fail.
        router.post("/admin/faults") { request, _ in
            guard gateway.isAdmin(authorization: request.headers[.authorization]) else { return Self.unauthorized() }
            let body = try await request.body.collect(upTo: 64 << 10)
            let json = try? JSONParser.parse(body.readableBytesView)
            if let problem = Self.startDrill(
                in: gateway, provider: json?["provider"]?.stringValue, kind: json?["kind"]?.stringValue, rate: json?["rate"]?.doubleValue ?? 1)
            {
                return Self.badRequest(problem)
            }
            return Self.json(Self.faultsJSON(gateway.executor.faults.all))
        }
        router.delete("/admin/faults/{provider}") { request, context in
            guard gateway.isAdmin(authorization: request.headers[.authorization]) else { return AdminRoutes.unauthorized() }
            Self.stopDrill(in: gateway, provider: context.parameters.get("provider") ?? "")
            return Self.json(Self.faultsJSON(gateway.executor.faults.all))
        }
    }

    /// Makes `rate` of `provider`'s attempts fail with `kind`; returns what is wrong with the request, if anything.
    static func startDrill(in gateway: Gateway, provider: String?, kind kindName: String?, rate: Double) -> String? {
        guard let provider, gateway.table.providers[provider] != nil else {
            return "expected {\"provider\": <configured provider>, \"kind\": <failure kind>, \"rate\": 0…1}"
        }
        guard let kind = kindName.flatMap(FailureKind.init(rawValue:)) else {
            return "kind must be one of \(FailureKind.allCases.map(\.rawValue).joined(separator: ", "))"
        }
        guard (0...1).contains(rate) else { return "rate must be between 0 and 1" }
        gateway.executor.faults.set(FaultInjector.Fault(kind: kind, rate: rate), for: provider)
        gateway.logger.warning("Fault injection enabled", metadata: ["provider": "\(provider)", "failure.kind": "\(kind.rawValue)", "rate": "\(rate)"])
        return nil
    }

    static func stopDrill(in gateway: Gateway, provider: String) {
        gateway.executor.faults.set(nil, for: provider)
        gateway.logger.info("Fault injection disabled", metadata: ["provider": "\(provider)"])
    }

    static func faultsJSON(_ faults: [String: FaultInjector.Fault]) -> JSONValue {
        let entries = faults.sorted { $0.key < $1.key }.map { provider, fault -> JSONValue in
            ["provider": .string(provider), "kind": .string(fault.kind.rawValue), "rate": .double(fault.rate)]
        }
        return ["faults": .array(entries)]
    }

    static func badRequest(_ message: String) -> Response {
        Response(
            status: .badRequest, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: OpenAIResponseEncoder.encodeError(.invalidRequest(message)).jsonBytes)))
    }

    static func json(_ value: JSONValue) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: value.jsonBytes)))
    }

    static func unauthorized() -> Response {
        let error = GatewayError.unauthenticated("The admin API needs 'Authorization: Bearer <admin_key>' (and an admin_key in the config).")
        return Response(
            status: .unauthorized, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: OpenAIResponseEncoder.encodeError(error).jsonBytes)))
    }
}

/// The health of every provider, target and credential, as JSON for operators.
enum ProviderHealthReport {
    static func make(table: RouteTable, now: ContinuousClock.Instant) -> JSONValue {
        let wallNow = Date()
        let formatter = ISO8601DateFormatter()
        // Monotonic instants become wall-clock times relative to now, for people reading the report.
        func timestamp(_ instant: ContinuousClock.Instant) -> JSONValue {
            .string(formatter.string(from: wallNow.addingTimeInterval((instant - now).seconds)))
        }
        let targets = table.allTargets
        let providers = table.providers.values.sorted { $0.name < $1.name }.map { provider -> JSONValue in
            let credentials = provider.credentials.map { slot -> JSONValue in
                var object: JSONObject = ["index": .int(slot.index), "in_flight": .int(slot.inFlight)]
                switch slot.health {
                case .usable: object["state"] = "healthy"
                case .coolingDown(let until):
                    object["state"] = now < until ? "cooling_down" : "healthy"
                    if now < until { object["cooling_down_until"] = timestamp(until) }
                case .disabled(let kind, let since):
                    object["state"] = kind == .authFailed ? "revoked" : "quota_exhausted"
                    object["disabled_since"] = timestamp(since)
                    if let reason = slot.disabledReason { object["disabled_reason"] = .string(reason) }
                }
                if case .open(let until) = slot.breakerState, now < until {
                    object["state"] = "circuit_open"
                    object["open_until"] = timestamp(until)
                }
                if let last = slot.lastFailure { object["last_error_kind"] = .string(last.rawValue) }
                return .object(object)
            }
            let providerTargets = targets.filter { $0.provider === provider }.map { target -> JSONValue in
                let counts = target.counts
                var object: JSONObject = ["target": .string(target.name), "in_flight": .int(target.inFlight)]
                switch target.breakerState {
                case .closed: object["state"] = "healthy"
                case .halfOpen: object["state"] = "half_open"
                case .open(let until):
                    object["state"] = now < until ? "circuit_open" : "half_open"
                    if now < until { object["open_until"] = timestamp(until) }
                }
                object["circuit_openings"] = .int(target.circuitOpenings)
                object["successes"] = .int(counts.successes)
                object["failures"] = .int(counts.failures)
                object["recent_error_rate"] = .double((target.recentErrorRate * 1000).rounded() / 1000)
                if let latency = target.latencyEWMA { object["latency_ewma_seconds"] = .double(latency) }
                if let last = counts.lastFailure { object["last_error_kind"] = .string(last.rawValue) }
                return .object(object)
            }
            return [
                "name": .string(provider.name), "type": .string(provider.config.type),
                "credentials": .array(credentials), "targets": .array(providerTargets),
            ]
        }
        return ["providers": .array(providers)]
    }
}
