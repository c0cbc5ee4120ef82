using System.Collections.Immutable;
using System.Net;
using Samsa.Broker.Quotas;
using Samsa.Metadata.Controller;
using Samsa.Metadata.Image;

namespace Samsa.Broker.Network;

/// <summary>
/// KIP-612's per-IP <c>connection_creation_rate</c> client quotas (Kafka's <c>ConnectionQuotas.connectionRatePerIp</c>
/// and its IP sensors). An address's rate is its own <c>ip=&lt;address&gt;</c> entity's, else the default ip entity's,
/// else unlimited (Kafka's <c>connectionRateForIp</c>). The rates are read from the current metadata image and parsed
/// again only when the image's client quotas change, so a quota set, changed or removed applies from the next
/// connection (Kafka's <c>updateIpConnectionRateQuota</c> re-configures the existing sensors the same way).
/// </summary>
/// <remarks>
/// Not thread-safe: <see cref="ConnectionQuotas"/> calls it under its lock, as Kafka records the IP sensor under its
/// counts lock. Each address with a quota has a <see cref="QuotaSensor"/> over <c>quota.window.num</c> windows of
/// <c>quota.window.size.seconds</c>. A sensor idle for that whole span is as good as new (its bucket has refilled and its
/// samples have expired), so it is dropped then (Kafka keeps its IP sensors an hour, for its metrics).
/// At most <see cref="MaxSensors"/> addresses are tracked at a time; past that, until idle ones are dropped, a new
/// address is not rate-limited (an attacker with that many addresses would otherwise lock out every other newcomer).
/// </remarks>
internal sealed class IpConnectionRates
{
    /// <summary>Addresses tracked at once; bounds the sensors' memory (a few hundred bytes each).</summary>
    public const int MaxSensors = 100_000;

    private readonly Func<MetadataImage> _image;
    private readonly int _samples;
    private readonly long _windowMs;
    private readonly long _idleMs;
    private readonly int _maxSensors;
    private readonly Dictionary<IPAddress, QuotaSensor> _sensors = [];
    private Rates _rates = new(ImmutableSortedDictionary<ClientQuotaEntity, ImmutableSortedDictionary<string, double>>.Empty);
    private long _lastPurgeMs;

    public IpConnectionRates(Func<MetadataImage> image, int samples, int windowSeconds, int maxSensors = MaxSensors)
    {
        _image = image;
        _samples = samples;
        _windowMs = windowSeconds * 1000L;
        _idleMs = samples * _windowMs;
        _maxSensors = maxSensors;
    }

    /// <summary>Addresses with a live sensor, for tests.</summary>
    public int SensorCount => _sensors.Count;

    /// <summary>The image's ip quotas, parsed once per change of the image's client quotas.</summary>
    private sealed class Rates
    {
        public Rates(ImmutableSortedDictionary<ClientQuotaEntity, ImmutableSortedDictionary<string, double>> quotas)
        {
            Quotas = quotas;
            foreach (var (entity, values) in quotas)
            {
                if (!entity.HasIp || entity.HasUser || entity.HasClientId || !values.TryGetValue(ClientQuotaControlManager.ConnectionCreationRate, out var value))
                {
                    continue;
                }
                // Kafka's ClientQuotaMetadataManager takes the value's integer part.
                var rate = (int)Math.Clamp(Math.Truncate(value), 0, int.MaxValue);
                if (entity.Ip is null)
                {
                    Default = rate;
                }
                else if (IPAddress.TryParse(entity.Ip, out var address))
                {
                    PerIp[ConnectionQuotas.Normalize(address)] = rate;
                }
            }
        }

        public ImmutableSortedDictionary<ClientQuotaEntity, ImmutableSortedDictionary<string, double>> Quotas { get; }

        public Dictionary<IPAddress, int> PerIp { get; } = [];

        public int Default { get; } = int.MaxValue;

        public bool Any => Default < int.MaxValue || PerIp.Count > 0;
    }

    /// <summary>Kafka's <c>connectionRateForIp</c>: int.MaxValue when no quota applies to <paramref name="address"/>.</summary>
    public int RateFor(IPAddress address)
    {
        var rates = Current();
        return rates.PerIp.TryGetValue(address, out var rate) ? rate : rates.Default;
    }

    /// <summary>
    /// Kafka's <c>recordIpConnectionMaybeThrottle</c>: records one connection from <paramref name="address"/> against
    /// its rate. Over the rate the connection is taken back (it will not be served) and the time until the address is
    /// within its rate again is returned, at most <paramref name="maxThrottleMs"/>; else 0.
    /// </summary>
    public int RecordOrThrottle(IPAddress address, long nowMs, long maxThrottleMs)
    {
        var rates = Current();
        if (!rates.Any)
        {
            return 0;
        }
        MaybePurge(nowMs);
        var rate = rates.PerIp.TryGetValue(address, out var own) ? own : rates.Default;
        if (rate == int.MaxValue)
        {
            return 0;
        }
        if (!_sensors.TryGetValue(address, out var sensor))
        {
            if (_sensors.Count >= _maxSensors)
            {
                return 0;
            }
            sensor = new QuotaSensor(_samples, _windowMs);
            _sensors[address] = sensor;
        }
        sensor.Quota = rate;
        var throttleMs = sensor.RecordAndGetThrottleTimeMs(1, nowMs, maxThrottleMs);
        if (throttleMs > 0)
        {
            // Kafka un-records the refused connection, so a client that keeps reconnecting is not refused for ever.
            sensor.Unrecord(1, nowMs);
        }
        return throttleMs;
    }

    private Rates Current()
    {
        var quotas = _image().ClientQuotas;
        if (!ReferenceEquals(_rates.Quotas, quotas))
        {
            _rates = new Rates(quotas);
        }
        return _rates;
    }

    /// <summary>Drops idle sensors once per idle span, or at once when the bound is reached (at most once a second then).</summary>
    private void MaybePurge(long nowMs)
    {
        if (_sensors.Count == 0 || nowMs - _lastPurgeMs < (_sensors.Count >= _maxSensors ? 1000 : _idleMs))
        {
            return;
        }
        _lastPurgeMs = nowMs;
        List<IPAddress>? idle = null;
        foreach (var (address, sensor) in _sensors)
        {
            if (nowMs - sensor.LastRecordMs >= _idleMs)
            {
                (idle ??= []).Add(address);
            }
        }
        foreach (var address in idle ?? [])
        {
            _sensors.Remove(address);
        }
    }
}
