using System.Diagnostics.Metrics;
using Samsa.Broker.Quotas;

namespace Samsa.Broker.Metrics;

/// <summary>
/// Kafka's client quota metrics, as observable gauges that walk the quota sensors at scrape time (the hot path records
/// nothing more than the quotas already do). Kafka registers, per quota sensor, <c>kafka.server:type=Produce</c> and
/// <c>type=Fetch</c> <c>byte-rate</c>, <c>type=Request</c> <c>request-time</c>, <c>type=ControllerMutation</c>
/// <c>mutation-rate</c>, and <c>throttle-time</c> on each, tagged <c>user</c> and <c>client-id</c> with the sensor's
/// <c>quotaMetricTags</c>; JMX leaves out a tag whose value is empty. The Prometheus JMX exporter's standard Kafka rules
/// (<c>kafka.server&lt;type=(.+), user=(.+), client-id=(.+)&gt;&lt;&gt;([a-z-]+)</c> and its client-id-only and
/// user-only forms) name them <c>kafka_server_quota_$attribute</c> with labels <c>resource</c> (the type),
/// <c>user</c> and <c>clientId</c>, so the same label is left out here when its tag is empty. The untagged
/// <c>queue-size</c> of each type and the Request type's <c>exempt-request-time</c> fall under the rule
/// <c>kafka.server&lt;type=(.+)&gt;&lt;&gt;([a-z-]+)</c>: <c>kafka_server_produce_queue_size</c>, and so on.
/// </summary>
internal static class QuotaMetrics
{
    public static void Observe(Meter meter, QuotaManagers quotas)
    {
        (string Resource, ClientQuotaManager Manager)[] all =
        [
            ("Produce", quotas.Produce), ("Fetch", quotas.Fetch), ("Request", quotas.Request.Manager),
            ("ControllerMutation", quotas.ControllerMutation.Manager),
        ];
        meter.CreateObservableGauge("kafka.server.quota.byte_rate",
            () => Sensors([all[0], all[1]], static (sensor, now) => sensor.MeasuredRate(now)),
            null, "Kafka's byte-rate (type=Produce, type=Fetch): bytes per second a quota sensor's clients produced or fetched, over the quota windows.");
        meter.CreateObservableGauge("kafka.server.quota.request_time",
            () => Sensors([all[2]], static (sensor, now) => sensor.MeasuredRate(now)),
            null, "Kafka's request-time (type=Request): percentage of one request thread a quota sensor's clients used, over the quota windows.");
        meter.CreateObservableGauge("kafka.server.quota.mutation_rate",
            () => Sensors([all[3]], static (sensor, now) => sensor.MeasuredRate(now)),
            null, "Kafka's mutation-rate (type=ControllerMutation): partitions per second a quota sensor's clients created or deleted, over the quota windows.");
        meter.CreateObservableGauge("kafka.server.quota.throttle_time",
            () => Sensors(all, static (sensor, now) => sensor.AverageThrottleTimeMs(now)),
            null, "Kafka's throttle-time: mean throttle in ms given to a quota sensor's clients over metrics.num.samples x metrics.sample.window.ms; 0 when none.");
        foreach (var (resource, manager) in all)
        {
            var queue = manager.Throttled;
            meter.CreateObservableGauge($"kafka.server.{resource.ToLowerInvariant()}.queue_size", () => queue.Count,
                null, $"Kafka's queue-size (type={resource}): connections muted by this quota right now.");
        }
        var request = quotas.Request;
        meter.CreateObservableGauge("kafka.server.request.exempt_request_time",
            () => request.ExemptRequestTime(request.Manager.Time.GetUtcNow().ToUnixTimeMilliseconds()),
            null, "Kafka's exempt-request-time (type=Request): percentage of one request thread taken by requests exempt from the request quota.");
    }

    private static IEnumerable<Measurement<double>> Sensors((string Resource, ClientQuotaManager Manager)[] managers, Func<QuotaSensor, long, double> read)
    {
        foreach (var (resource, manager) in managers)
        {
            var now = manager.Time.GetUtcNow().ToUnixTimeMilliseconds();
            foreach (var ((user, clientId), sensor) in manager.Sensors)
            {
                yield return new Measurement<double>(read(sensor, now), Tags(resource, user, clientId));
            }
        }
    }

    /// <summary>The exporter's labels: <c>resource</c>, then <c>user</c> and <c>clientId</c> unless empty (JMX drops empty tags).</summary>
    private static KeyValuePair<string, object?>[] Tags(string resource, string user, string clientId)
    {
        var tags = new KeyValuePair<string, object?>[1 + (user.Length > 0 ? 1 : 0) + (clientId.Length > 0 ? 1 : 0)];
        var i = 0;
        tags[i++] = new("resource", resource);
        if (user.Length > 0)
        {
            tags[i++] = new("user", user);
        }
        if (clientId.Length > 0)
        {
            tags[i] = new("clientId", clientId);
        }
        return tags;
    }
}

/// <summary>The broker's four client quotas, for their metrics.</summary>
public sealed record QuotaManagers(ClientQuotaManager Produce, ClientQuotaManager Fetch, RequestQuota Request, ControllerMutationQuota ControllerMutation);
