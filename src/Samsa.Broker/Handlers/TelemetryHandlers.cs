using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Handlers;

/// <summary>
/// What client telemetry (KIP-714) sees from a broker that has no client-metrics subscription, as Kafka's
/// <c>ClientMetricsManager</c> answers then: GetTelemetrySubscriptions assigns a client instance id and returns an
/// empty metric list (so the client pushes nothing and asks again after the push interval); a PushTelemetry that
/// arrives anyway is checked (instance id, subscription id, size, compression) and its metrics discarded, as no
/// exporter is configured. Stateless: the subscription id is derived from the client instance id, so nothing grows
/// per client.
/// </summary>
public static class ClientTelemetry
{
    /// <summary>Kafka's <c>ClientMetricsConfigs.DEFAULT_INTERVAL_MS</c>: five minutes.</summary>
    public const int DefaultPushIntervalMs = 300_000;

    /// <summary>Kafka's <c>ClientMetricsManager.SUPPORTED_COMPRESSION_TYPES</c> (zstd, lz4, gzip, snappy), in its order of preference.</summary>
    public static readonly IReadOnlyList<sbyte> AcceptedCompressionTypes = [4, 3, 1, 2];

    /// <summary>The subscription id a client instance is given: changes only if the (empty) subscription set would.</summary>
    public static int SubscriptionIdFor(Uuid clientInstanceId)
    {
        // Stable across restarts (HashCode.Combine is seeded per process): a client pushing after a restart is not refused.
        var mixed = clientInstanceId.MostSignificantBits ^ (clientInstanceId.LeastSignificantBits * 31) ^ DefaultPushIntervalMs;
        return (int)(mixed ^ (mixed >>> 32)) & int.MaxValue;
    }
}

/// <summary>GetTelemetrySubscriptions (key 71), version 0: see <see cref="ClientTelemetry"/>.</summary>
public sealed class GetTelemetrySubscriptionsHandler(int telemetryMaxBytes) : ApiHandler<GetTelemetrySubscriptionsRequest, GetTelemetrySubscriptionsResponse>
{
    public override ApiKey ApiKey => ApiKey.GetTelemetrySubscriptions;

    public override short MinVersion => 0;

    public override short MaxVersion => 0;

    protected override ValueTask<GetTelemetrySubscriptionsResponse?> HandleAsync(RequestContext context, GetTelemetrySubscriptionsRequest request, CancellationToken cancellationToken)
    {
        // A zero id asks the broker for one (KIP-714); the client keeps it for its lifetime.
        var instance = request.ClientInstanceId.IsZero ? Uuid.Random() : request.ClientInstanceId;
        return ValueTask.FromResult<GetTelemetrySubscriptionsResponse?>(new GetTelemetrySubscriptionsResponse
        {
            ClientInstanceId = instance,
            SubscriptionId = ClientTelemetry.SubscriptionIdFor(instance),
            AcceptedCompressionTypes = [.. ClientTelemetry.AcceptedCompressionTypes],
            PushIntervalMs = ClientTelemetry.DefaultPushIntervalMs,
            TelemetryMaxBytes = telemetryMaxBytes,
            DeltaTemporality = true,
            RequestedMetrics = [],
        });
    }

    protected override GetTelemetrySubscriptionsResponse ErrorResponse(RequestContext context, GetTelemetrySubscriptionsRequest request, ErrorCode error) =>
        new() { ErrorCode = (short)error };
}

/// <summary>PushTelemetry (key 72), version 0: see <see cref="ClientTelemetry"/>.</summary>
public sealed class PushTelemetryHandler(int telemetryMaxBytes) : ApiHandler<PushTelemetryRequest, PushTelemetryResponse>
{
    public override ApiKey ApiKey => ApiKey.PushTelemetry;

    public override short MinVersion => 0;

    public override short MaxVersion => 0;

    protected override ValueTask<PushTelemetryResponse?> HandleAsync(RequestContext context, PushTelemetryRequest request, CancellationToken cancellationToken)
    {
        var error = request.ClientInstanceId.IsZero ? ErrorCode.InvalidRequest
            : request.SubscriptionId != ClientTelemetry.SubscriptionIdFor(request.ClientInstanceId) ? ErrorCode.UnknownSubscriptionId
            : request.Metrics.Length > 0 && request.CompressionType != 0 && !ClientTelemetry.AcceptedCompressionTypes.Contains(request.CompressionType) ? ErrorCode.UnsupportedCompressionType
            : request.Metrics.Length > telemetryMaxBytes ? ErrorCode.TelemetryTooLarge
            : ErrorCode.None;
        return ValueTask.FromResult<PushTelemetryResponse?>(new PushTelemetryResponse { ErrorCode = (short)error });
    }

    protected override PushTelemetryResponse ErrorResponse(RequestContext context, PushTelemetryRequest request, ErrorCode error) =>
        new() { ErrorCode = (short)error };
}
