using System.Collections.Concurrent;
using System.Collections.Immutable;
using Samsa.Metadata.Image;

namespace Samsa.Broker.Quotas;

/// <summary>
/// One quota's state for one set of metric tags (Kafka's quota <c>Sensor</c>); recording takes its lock. The throttle
/// comes from a <see cref="TokenBucket"/> (as Kafka throttles controller mutations, KIP-599) rather than from Kafka's
/// windowed <c>Rate</c>: under the <c>Rate</c> a client that always has more to send takes a whole window count's
/// worth of quota in one burst each time its oldest sample expires and trickles through the next 10 s, so 30 s of it
/// measure 0.74 or 1.10 of the quota by how many bursts they hold (QuotaSensorTests replays it). The bucket holds it
/// at the quota with the same allowance for a first burst. The windowed rate is still kept, as the measured rate Kafka reports.
/// <para>
/// Beside it, Kafka's throttle-time sensor: an <c>Avg</c> of the throttle times given to this sensor's clients, over
/// <c>metrics.num.samples</c> windows of <c>metrics.sample.window.ms</c> (Kafka's metrics defaults, 2 x 30 s), kept as
/// two windowed sums, of the times and of their count, under the same lock. Both are read by the quota metrics at scrape time.
/// </para>
/// </summary>
public sealed class QuotaSensor(int samples, long windowMs, int throttleSamples = 2, long throttleWindowMs = 30_000)
{
    private readonly SampledRate _rate = new(samples, windowMs);
    private readonly TokenBucket _bucket = new(samples, windowMs);
    private readonly SampledRate _throttleSum = new(throttleSamples, throttleWindowMs);
    private readonly SampledRate _throttleCount = new(throttleSamples, throttleWindowMs);
    private long _lastRecordMs;

    /// <summary>The bound; set whenever the tags are resolved, so a changed quota applies from the next request.</summary>
    public double Quota { get; set; }

    public long LastRecordMs => Volatile.Read(ref _lastRecordMs);

    /// <summary>
    /// Kafka's <c>Sensor.record(value, time, checkQuotas = true)</c> and <c>ClientQuotaManager.throttleTime</c>: records;
    /// when that leaves the client in debt, the time to repay it at the quota (capped at
    /// <paramref name="maxThrottleTimeMs"/>), else 0. With <paramref name="recordThrottle"/> (the caller throttles the
    /// client by what this returns) a throttle is also recorded in the throttle-time average (Kafka's <c>throttle</c>).
    /// </summary>
    public int RecordAndGetThrottleTimeMs(double value, long nowMs, long maxThrottleTimeMs = long.MaxValue, bool recordThrottle = false)
    {
        lock (_rate)
        {
            Volatile.Write(ref _lastRecordMs, nowMs);
            _rate.Record(value, nowMs);
            _bucket.Record(value, nowMs, Quota);
            var throttle = (int)Math.Clamp(Math.Min(TokenBucket.ThrottleTime(_bucket.Measure(nowMs, Quota), Quota), maxThrottleTimeMs), 0, int.MaxValue);
            if (recordThrottle && throttle > 0)
            {
                RecordThrottleLocked(throttle, nowMs);
            }
            return throttle;
        }
    }

    /// <summary>Kafka's <c>throttleTimeSensor.record</c>: a client of this sensor was throttled for <paramref name="throttleTimeMs"/>.</summary>
    public void RecordThrottle(int throttleTimeMs, long nowMs)
    {
        lock (_rate)
        {
            RecordThrottleLocked(throttleTimeMs, nowMs);
        }
    }

    private void RecordThrottleLocked(int throttleTimeMs, long nowMs)
    {
        _throttleSum.Record(throttleTimeMs, nowMs);
        _throttleCount.Record(1, nowMs);
    }

    /// <summary>
    /// Kafka's <c>throttle-time</c> metric: the mean of the throttle times recorded over the throttle windows, in ms; 0
    /// when none was (Kafka's <c>Avg</c> reports NaN then).
    /// </summary>
    public double AverageThrottleTimeMs(long nowMs)
    {
        lock (_rate)
        {
            var count = _throttleCount.Total(nowMs);
            return count > 0 ? _throttleSum.Total(nowMs) / count : 0;
        }
    }

    /// <summary>
    /// Kafka's strict controller-mutation record (<c>checkQuotas</c> then <c>record(value, time, false)</c>): refuses
    /// while the client is in debt, returning the time that repays it, else records <paramref name="value"/> however
    /// deep that takes it and returns 0.
    /// </summary>
    public int TryRecordStrict(double value, long nowMs)
    {
        lock (_rate)
        {
            var throttle = TokenBucket.ThrottleTime(_bucket.Measure(nowMs, Quota), Quota);
            if (throttle > 0)
            {
                return (int)Math.Min(throttle, int.MaxValue);
            }
            Volatile.Write(ref _lastRecordMs, nowMs);
            _rate.Record(value, nowMs);
            _bucket.Record(value, nowMs, Quota);
            return 0;
        }
    }

    /// <summary>The time that repays the client's debt at <paramref name="nowMs"/>, recording nothing; 0 when not in debt.</summary>
    public int ThrottleTimeMs(long nowMs)
    {
        lock (_rate)
        {
            return (int)Math.Min(TokenBucket.ThrottleTime(_bucket.Measure(nowMs, Quota), Quota), int.MaxValue);
        }
    }

    /// <summary>The bytes per second measured over Kafka's quota windows (Kafka's quota metric).</summary>
    public double MeasuredRate(long nowMs)
    {
        lock (_rate)
        {
            return _rate.Measure(nowMs);
        }
    }

    /// <summary>Kafka's <c>unrecordQuotaSensor</c>: takes a recorded value back (a throttled fetch sends no data).</summary>
    public void Unrecord(double value, long nowMs)
    {
        lock (_rate)
        {
            _rate.Record(-value, nowMs);
            _bucket.Record(-value, nowMs, Quota);
        }
    }
}

/// <summary>
/// Kafka's <c>ClientQuotaManager</c> with its <c>DefaultQuotaCallback</c>, for one quota key (producer_byte_rate,
/// consumer_byte_rate or request_percentage). A request from (user, client-id) is charged to the sensor of the most
/// specific quota entity that sets the key, in Kafka's precedence:
/// /users/u/clients/c, /users/u/clients/&lt;default&gt;, /users/u, /users/&lt;default&gt;/clients/c,
/// /users/&lt;default&gt;/clients/&lt;default&gt;, /users/&lt;default&gt;, /clients/c, /clients/&lt;default&gt;.
/// The sensor's tags follow the match (Kafka's <c>quotaMetricTags</c>): a user-and-client entity gives each
/// (user, client-id) its own sensor, a user entity one sensor per user, a client entity one per client-id, so all
/// connections sharing them share one rate. With no entity setting the key nothing is recorded (Kafka records an
/// unbounded sensor for metrics only). Sensors idle for <see cref="InactiveSensorExpiration"/> are dropped.
/// The hot path (a cached resolution and a sensor lock) allocates nothing.
/// </summary>
public sealed class ClientQuotaManager
{
    /// <summary>Kafka's <c>InactiveSensorExpirationTimeSeconds</c>.</summary>
    public static readonly TimeSpan InactiveSensorExpiration = TimeSpan.FromHours(1);

    private const int MaxResolutions = 100_000;

    private static readonly TimeSpan PurgeInterval = TimeSpan.FromMinutes(1);

    private readonly string _key;
    private readonly Func<MetadataImage> _image;
    private readonly TimeProvider _time;
    private readonly int _samples;
    private readonly long _windowMs;
    private readonly long _maxThrottleTimeMs;
    private readonly long _expirationMs;
    private readonly int _throttleSamples;
    private readonly long _throttleWindowMs;
    private readonly ConcurrentDictionary<(string User, string ClientId), QuotaSensor> _sensors = new();
    // (user, client-id) -> its sensor, or null for no quota; rebuilt when the image's quotas change.
    private Resolutions _resolved = new(ImmutableSortedDictionary<ClientQuotaEntity, ImmutableSortedDictionary<string, double>>.Empty);
    private long _nextPurgeMs;

    private sealed class Resolutions(ImmutableSortedDictionary<ClientQuotaEntity, ImmutableSortedDictionary<string, double>> quotas)
    {
        public ImmutableSortedDictionary<ClientQuotaEntity, ImmutableSortedDictionary<string, double>> Quotas { get; } = quotas;

        public ConcurrentDictionary<(string User, string ClientId), QuotaSensor?> ByClient { get; } = new();
    }

    /// <param name="maxThrottleTimeMs">Kafka bounds only the request-time quota, at one window.</param>
    /// <param name="metricsSamples">Kafka's <c>metrics.num.samples</c>: the throttle-time average's windows.</param>
    /// <param name="metricsWindowMs">Kafka's <c>metrics.sample.window.ms</c>: the throttle-time average's window size.</param>
    public ClientQuotaManager(string key, Func<MetadataImage> image, int samples, int windowSeconds, TimeProvider time,
        long maxThrottleTimeMs = long.MaxValue, TimeSpan? inactiveSensorExpiration = null, int metricsSamples = 2, long metricsWindowMs = 30_000)
    {
        _throttleSamples = metricsSamples;
        _throttleWindowMs = metricsWindowMs;
        _key = key;
        _image = image;
        _time = time;
        _samples = samples;
        _windowMs = windowSeconds * 1000L;
        _maxThrottleTimeMs = maxThrottleTimeMs;
        _expirationMs = (long)(inactiveSensorExpiration ?? InactiveSensorExpiration).TotalMilliseconds;
    }

    public string Key => _key;

    /// <summary>Live sensors, for tests and metrics.</summary>
    public int SensorCount => _sensors.Count;

    /// <summary>
    /// The live sensors by their metric tags (Kafka's <c>quotaMetricTags</c>: "" for the part the matched entity
    /// leaves out), for the quota metrics to read at scrape time; an expired sensor is gone from here.
    /// </summary>
    public IEnumerable<KeyValuePair<(string User, string ClientId), QuotaSensor>> Sensors => _sensors;

    /// <summary>Kafka's delay queue for this quota: the connections it mutes right now (its <c>queue-size</c> metric).</summary>
    public ThrottledChannels Throttled { get; } = new();

    public TimeProvider Time => _time;

    /// <summary>Kafka's <c>maybeRecordAndGetThrottleTimeMs</c>: 0 when no quota applies.</summary>
    public int RecordAndGetThrottleTimeMs(string user, string clientId, double value) =>
        RecordAndGetThrottleTimeMs(user, clientId, value, _time.GetUtcNow().ToUnixTimeMilliseconds());

    public int RecordAndGetThrottleTimeMs(string user, string clientId, double value, long nowMs)
    {
        MaybePurge(nowMs);
        // The callers throttle the client by what this returns, so a throttle is recorded in its throttle-time average.
        return SensorFor(user, clientId) is { } sensor ? sensor.RecordAndGetThrottleTimeMs(value, nowMs, _maxThrottleTimeMs, recordThrottle: true) : 0;
    }

    /// <summary>
    /// Kafka's <c>getMaxValueInQuotaWindow</c>: the most one request may take, <c>quota x (samples - 1) x window</c>
    /// (the Fetch handler caps a consumer's max_bytes with it, so a response that fits the quota can be sent).
    /// </summary>
    public double MaxValueInQuotaWindow(QuotaSensor sensor) => sensor.Quota * (_samples - 1) * (_windowMs / 1000.0);

    /// <summary>Kafka's <c>unrecordQuotaSensor</c>: takes back a value recorded for (user, client-id).</summary>
    public void Unrecord(string user, string clientId, double value) =>
        SensorFor(user, clientId)?.Unrecord(value, _time.GetUtcNow().ToUnixTimeMilliseconds());

    /// <summary>The sensor charged for (user, client-id), or null when no entity sets this quota.</summary>
    public QuotaSensor? SensorFor(string user, string clientId)
    {
        var resolved = Volatile.Read(ref _resolved);
        var quotas = _image().ClientQuotas;
        if (!ReferenceEquals(resolved.Quotas, quotas))
        {
            resolved = new Resolutions(quotas);
            Volatile.Write(ref _resolved, resolved);
        }
        if (resolved.ByClient.TryGetValue((user, clientId), out var cached))
        {
            return cached;
        }
        QuotaSensor? sensor = null;
        if (Resolve(quotas, _key, user, clientId) is { } match)
        {
            sensor = _sensors.GetOrAdd((match.TagUser, match.TagClientId), static (_, m) => new QuotaSensor(m._samples, m._windowMs, m._throttleSamples, m._throttleWindowMs), this);
            sensor.Quota = match.Quota;
        }
        if (resolved.ByClient.Count >= MaxResolutions)
        {
            // Many client ids churning: start the cache over rather than let it grow.
            resolved = new Resolutions(quotas);
            Volatile.Write(ref _resolved, resolved);
        }
        resolved.ByClient[(user, clientId)] = sensor;
        return sensor;
    }

    /// <summary>The matched quota and the sensor tags it implies (Kafka's <c>quotaMetricTags</c> and <c>quotaLimit</c>).</summary>
    public readonly record struct Match(double Quota, string TagUser, string TagClientId);

    /// <summary>Kafka's precedence walk (see the class summary); null when no entity sets <paramref name="key"/>.</summary>
    public static Match? Resolve(ImmutableSortedDictionary<ClientQuotaEntity, ImmutableSortedDictionary<string, double>> quotas, string key, string user, string clientId)
    {
        if (quotas.IsEmpty)
        {
            return null;
        }
        return Find(ClientQuotaEntity.OfUserAndClientId(user, clientId), user, clientId)
            ?? Find(ClientQuotaEntity.OfUserAndClientId(user, null), user, clientId)
            ?? Find(ClientQuotaEntity.OfUser(user), user, "")
            ?? Find(ClientQuotaEntity.OfUserAndClientId(null, clientId), user, clientId)
            ?? Find(ClientQuotaEntity.OfUserAndClientId(null, null), user, clientId)
            ?? Find(ClientQuotaEntity.OfUser(null), user, "")
            ?? Find(ClientQuotaEntity.OfClientId(clientId), "", clientId)
            ?? Find(ClientQuotaEntity.OfClientId(null), "", clientId);

        Match? Find(ClientQuotaEntity entity, string tagUser, string tagClientId) =>
            quotas.TryGetValue(entity, out var values) && values.TryGetValue(key, out var quota) ? new Match(quota, tagUser, tagClientId) : null;
    }

    private void MaybePurge(long nowMs)
    {
        var next = Volatile.Read(ref _nextPurgeMs);
        if (nowMs < next || Interlocked.CompareExchange(ref _nextPurgeMs, nowMs + (long)PurgeInterval.TotalMilliseconds, next) != next)
        {
            return;
        }
        Purge(nowMs);
    }

    /// <summary>Drops sensors idle for the expiration (Kafka's sensor <c>inactiveSensorExpirationTimeSeconds</c>).</summary>
    public void Purge(long nowMs)
    {
        var removed = false;
        foreach (var (tags, sensor) in _sensors)
        {
            if (nowMs - sensor.LastRecordMs >= _expirationMs)
            {
                removed |= _sensors.TryRemove(tags, out _);
            }
        }
        if (removed)
        {
            // Resolutions point at sensors; the next request of an expired client resolves afresh.
            Volatile.Write(ref _resolved, new Resolutions(_resolved.Quotas));
        }
    }
}

/// <summary>
/// Kafka's quota delay queue, counted: the connections muted by one quota (<c>queue-size</c> of
/// <c>kafka.server:type=Produce</c>, <c>Fetch</c>, <c>Request</c>, <c>ControllerMutation</c>). A connection counts
/// here while its read loop waits out the throttle, under the quota that set the longest throttle of its request, as
/// Kafka queues the channel under that quota's manager. Changed only when a connection is throttled.
/// </summary>
public sealed class ThrottledChannels
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    internal void Enter() => Interlocked.Increment(ref _count);

    internal void Exit() => Interlocked.Decrement(ref _count);
}
