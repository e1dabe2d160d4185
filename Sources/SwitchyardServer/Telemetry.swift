import OTel
public import ServiceLifecycle
public import SwitchyardCore
public import Tracing
public import Logging

/// The OpenTelemetry tracer a config's `telemetry:` section asks for, made per gateway (not bootstrapped
/// process-wide, so tests can run gateways with and without tracing side by side), and the service that
/// exports its spans and flushes them at shutdown.
public struct Telemetry: Sendable {
    public let tracer: any Tracer
    public let service: any Service

    public static func make(_ config: TelemetryConfig) throws -> Telemetry {
        var configuration = OTel.Configuration.default
        configuration.serviceName = config.serviceName
        configuration.metrics.enabled = false
        configuration.logs.enabled = false
        configuration.traces.enabled = true
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.protocol = config.exportProtocol == .httpJSON ? .httpJSON : .httpProtobuf
        var base = Substring(config.otlpEndpoint)
        while base.hasSuffix("/") { base = base.dropLast() }
        configuration.traces.otlpExporter.endpoint = base.hasSuffix("/v1/traces") ? String(base) : base + "/v1/traces"
        // A caller's sampled (or unsampled) trace is followed; new traces are sampled at the configured ratio.
        configuration.traces.sampler = .parentBasedTraceIDRatio(ratio: config.sampling) ?? .parentBasedAlwaysOn
        configuration.traces.batchSpanProcessor.scheduleDelay = .milliseconds(500)
        configuration.propagators = [.traceContext]
        configuration.diagnosticLogLevel = .warning
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        return Telemetry(tracer: backend.factory, service: backend.service)
    }
}

extension Telemetry {
    /// Adds `trace_id` and `span_id` to log lines written inside a traced request (nothing otherwise).
    public static var loggingMetadataProvider: Logger.MetadataProvider { OTel.makeLoggingMetadataProvider() }
}
