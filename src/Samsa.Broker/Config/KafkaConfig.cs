using System.Net;
using Microsoft.Extensions.Logging;
using Samsa.Metadata.Quorum;

namespace Samsa.Broker.Config;

/// <summary>
/// The broker's configuration: every key of <see cref="KafkaConfigDefinitions"/> parsed, range-checked and
/// cross-checked as Kafka's <c>KafkaConfig</c> does, with typed properties for the keys the broker acts on.
/// Built from properties (a file, <c>--override</c> pairs, or a dictionary in tests); immutable afterwards.
/// </summary>
public sealed class KafkaConfig
{
    private readonly Dictionary<string, object?> _values;

    private KafkaConfig(Dictionary<string, object?> values, IReadOnlyDictionary<string, string> originals, IReadOnlyList<string> unknownKeys)
    {
        _values = values;
        Originals = originals;
        UnknownKeys = unknownKeys;

        ProcessRoles = GetList("process.roles");
        NodeId = GetInt("node.id");
        BrokerRack = GetString("broker.rack");
        SocketRequestMaxBytes = GetInt("socket.request.max.bytes");
        SocketSendBufferBytes = GetInt("socket.send.buffer.bytes");
        SocketReceiveBufferBytes = GetInt("socket.receive.buffer.bytes");
        SocketListenBacklogSize = GetInt("socket.listen.backlog.size");
        NumPartitions = GetInt("num.partitions");
        DefaultReplicationFactor = GetInt("default.replication.factor");
        AutoCreateTopicsEnable = GetBool("auto.create.topics.enable");
        MessageMaxBytes = GetInt("message.max.bytes");
        LogSegmentBytes = GetInt("log.segment.bytes");
        OffsetsTopicNumPartitions = GetInt("offsets.topic.num.partitions");
        UnstableApiVersionsEnable = GetBool("unstable.api.versions.enable");
        MaxConnections = GetInt("max.connections");
        MaxConnectionsPerIp = GetInt("max.connections.per.ip");
        MaxConnectionsPerIpOverrides = ParseConnectionOverrides(GetString("max.connections.per.ip.overrides") ?? "");
        ConnectionsMaxIdleMs = GetLong("connections.max.idle.ms");
        IgnoredKeys = originals.Keys.Where(KafkaConfigDefinitions.NotActedOn.Contains).Order(StringComparer.Ordinal).ToArray();

        var dirs = GetString("log.dirs") ?? GetString("log.dir") ?? "";
        LogDirs = ConfigKey.SplitList(dirs).Where(d => d.Length > 0).ToArray();
        LogRetentionMs = ResolveRetentionMs();
        ListenerSecurityProtocolMap = ParseProtocolMap(GetString("listener.security.protocol.map") ?? "");
        ControllerListenerNames = ConfigKey.SplitList(GetString("controller.listener.names") ?? "").Select(n => n.ToUpperInvariant()).Where(n => n.Length > 0).ToArray();
        Listeners = ParseListeners("listeners", GetString("listeners") ?? "");
        AdvertisedListeners = ResolveAdvertisedListeners();
        QuorumVoters = ParseQuorumVoters();
        Validate();
    }

    /// <summary>
    /// <c>controller.quorum.voters</c> (<c>id@host:port</c> entries): the static voter set and each voter's
    /// controller endpoint. Empty when the quorum is dynamic (<c>controller.quorum.bootstrap.servers</c>).
    /// </summary>
    public IReadOnlyList<QuorumVoter> QuorumVoters { get; }

    private IReadOnlyList<QuorumVoter> ParseQuorumVoters()
    {
        try
        {
            return QuorumVoter.ParseStatic(string.Join(",", GetList("controller.quorum.voters")), ControllerListenerNames.FirstOrDefault() ?? "CONTROLLER");
        }
        catch (FormatException e)
        {
            throw new ConfigException(e.Message);
        }
    }

    /// <summary>The properties as given (file merged with overrides), before parsing.</summary>
    public IReadOnlyDictionary<string, string> Originals { get; }

    /// <summary>Keys that are not broker configs; warned about once at load.</summary>
    public IReadOnlyList<string> UnknownKeys { get; }

    /// <summary>Supplied keys of <see cref="KafkaConfigDefinitions.NotActedOn"/>: valid, but not acted on; warned about once at load.</summary>
    public IReadOnlyList<string> IgnoredKeys { get; }

    public IReadOnlyList<string> ProcessRoles { get; }

    public int NodeId { get; }

    public string? BrokerRack { get; }

    public IReadOnlyList<string> LogDirs { get; }

    public IReadOnlyList<Endpoint> Listeners { get; }

    /// <summary>What clients are told in Metadata: advertised.listeners, else listeners minus controller listeners.</summary>
    public IReadOnlyList<Endpoint> AdvertisedListeners { get; }

    public IReadOnlyDictionary<string, SecurityProtocol> ListenerSecurityProtocolMap { get; }

    /// <summary>
    /// The listener brokers reach each other on (replica fetches): <c>inter.broker.listener.name</c>, else the first
    /// advertised listener speaking <c>security.inter.broker.protocol</c>, else the first advertised listener.
    /// </summary>
    public string? InterBrokerListenerName =>
        GetString("inter.broker.listener.name")?.ToUpperInvariant()
        ?? AdvertisedListeners.FirstOrDefault(l => l.SecurityProtocol.ToString().Replace("_", "", StringComparison.Ordinal)
            .Equals((GetString("security.inter.broker.protocol") ?? "PLAINTEXT").Replace("_", "", StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase))?.ListenerName
        ?? AdvertisedListeners.FirstOrDefault()?.ListenerName;

    public IReadOnlyList<string> ControllerListenerNames { get; }

    public int SocketRequestMaxBytes { get; }

    public int SocketSendBufferBytes { get; }

    public int SocketReceiveBufferBytes { get; }

    public int SocketListenBacklogSize { get; }

    public int NumPartitions { get; }

    public int DefaultReplicationFactor { get; }

    public bool AutoCreateTopicsEnable { get; }

    public int MessageMaxBytes { get; }

    public int LogSegmentBytes { get; }

    /// <summary>log.retention.ms, else minutes, else hours, as Kafka resolves them; -1 keeps forever.</summary>
    public long LogRetentionMs { get; }

    public int OffsetsTopicNumPartitions { get; }

    public bool UnstableApiVersionsEnable { get; }

    /// <summary>max.connections: connections the broker holds across its listeners before its acceptors wait.</summary>
    public int MaxConnections { get; }

    public int MaxConnectionsPerIp { get; }

    /// <summary>max.connections.per.ip.overrides: host or IP to its own limit, as written (resolved when the listeners bind).</summary>
    public IReadOnlyDictionary<string, int> MaxConnectionsPerIpOverrides { get; }

    /// <summary>connections.max.idle.ms; negative never closes idle connections (Kafka's Selector does the same).</summary>
    public long ConnectionsMaxIdleMs { get; }

    /// <summary>
    /// Kafka's per-listener <c>listener.name.{listener}.max.connections</c> (listener name lower-cased), else int.MaxValue.
    /// </summary>
    public int ListenerMaxConnections(string listenerName) =>
        Originals.TryGetValue(ListenerMaxConnectionsKey(listenerName), out var raw) ? ParseListenerMaxConnections(ListenerMaxConnectionsKey(listenerName), raw) : int.MaxValue;

    /// <summary>
    /// KIP-612's per-listener <c>listener.name.{listener}.max.connection.creation.rate</c> (listener name lower-cased),
    /// else the broker's <c>max.connection.creation.rate</c>.
    /// </summary>
    public int ListenerMaxConnectionCreationRate(string listenerName)
    {
        var key = $"listener.name.{listenerName.ToLowerInvariant()}.max.connection.creation.rate";
        return Originals.TryGetValue(key, out var raw) ? ParseListenerOverride("max.connection.creation.rate", key, raw) : GetInt("max.connection.creation.rate");
    }

    private static string ListenerMaxConnectionsKey(string listenerName) => $"listener.name.{listenerName.ToLowerInvariant()}.max.connections";

    private static int ParseListenerMaxConnections(string key, string raw) => ParseListenerOverride("max.connections", key, raw);

    /// <summary>A listener's override of the broker config <paramref name="brokerKey"/>, parsed and checked (at least 0) as that config is.</summary>
    private static int ParseListenerOverride(string brokerKey, string key, string raw)
    {
        var value = (int)(KafkaConfigDefinitions.All[brokerKey] with { Name = key }).Parse(raw)!;
        RangeValidator.AtLeast(0).Ensure(key, value);
        return value;
    }

    /// <summary>Every config with its effective value (defaults filled in), for the startup log and DescribeConfigs.</summary>
    public IReadOnlyDictionary<string, object?> Values => _values;

    public object? Get(string name) =>
        _values.TryGetValue(name, out var value) ? value : throw new ArgumentException($"Unknown broker config {name}", nameof(name));

    public int GetInt(string name) => Get(name) is int value ? value : throw new InvalidOperationException($"{name} is not set");

    public long GetLong(string name) => Get(name) is long value ? value : throw new InvalidOperationException($"{name} is not set");

    public double GetDouble(string name) => Get(name) is double value ? value : throw new InvalidOperationException($"{name} is not set");

    public bool GetBool(string name) => Get(name) is true;

    public string? GetString(string name) => Get(name) as string;

    public IReadOnlyList<string> GetList(string name) => Get(name) as IReadOnlyList<string> ?? [];

    /// <summary>
    /// Kafka's per-listener override: <c>listener.name.{listener lower-case}.{name}</c> when set, else the broker-wide
    /// <paramref name="name"/> (<c>ssl.keystore.location</c>, <c>sasl.enabled.mechanisms</c>, ...).
    /// </summary>
    public object? ListenerValue(string listenerName, string name)
    {
        var key = $"listener.name.{listenerName.ToLowerInvariant()}.{name}";
        return Originals.TryGetValue(key, out var raw) ? (KafkaConfigDefinitions.All[name] with { Name = key }).Parse(raw) : Get(name);
    }

    /// <summary><see cref="ListenerValue"/> as a string.</summary>
    public string? ListenerString(string listenerName, string name) => ListenerValue(listenerName, name) switch
    {
        null => null,
        string text => text,
        var other => other.ToString(),
    };

    /// <summary>All defaults, e.g. for an in-process test broker that then overrides a few keys.</summary>
    public static KafkaConfig Default() => FromProperties([]);

    /// <summary>Parses and validates properties. Throws <see cref="ConfigException"/> on the first bad value.</summary>
    public static KafkaConfig FromProperties(IEnumerable<KeyValuePair<string, string>> properties)
    {
        var originals = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in properties)
        {
            originals[key] = value;
        }
        var values = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var key in KafkaConfigDefinitions.All.Values)
        {
            var value = originals.TryGetValue(key.Name, out var raw) ? key.Parse(raw) : key.Default;
            key.Validator?.Ensure(key.Name, value);
            values[key.Name] = value;
        }
        var unknown = originals.Keys.Where(k => !KafkaConfigDefinitions.All.ContainsKey(k) && !IsListenerMaxConnections(k) && DynamicBrokerConfig.BaseOfListenerConfig(k) is null).Order(StringComparer.Ordinal).ToArray();
        return new KafkaConfig(values, originals, unknown);
    }

    /// <summary>
    /// Loads <c>server.properties</c> (if given), merges <c>key=value</c> overrides over it, validates, and warns
    /// once about unknown keys, as kafka-server-start.sh with <c>--override</c> does.
    /// </summary>
    public static KafkaConfig Load(string? path, IEnumerable<string> overrides, ILogger logger)
    {
        var merged = new List<KeyValuePair<string, string>>();
        if (path is not null)
        {
            if (!File.Exists(path))
            {
                throw new ConfigException($"Config file {path} does not exist");
            }
            merged.AddRange(JavaProperties.ReadFile(path));
        }
        foreach (var pair in overrides)
        {
            merged.Add(ParseOverride(pair));
        }
        var config = FromProperties(merged);
        if (config.UnknownKeys.Count > 0)
        {
            ConfigLog.UnknownKeys(logger, string.Join(", ", config.UnknownKeys));
        }
        if (config.IgnoredKeys.Count > 0)
        {
            ConfigLog.IgnoredKeys(logger, string.Join(", ", config.IgnoredKeys));
        }
        return config;
    }

    private static bool IsListenerMaxConnections(string key) =>
        key.StartsWith("listener.name.", StringComparison.Ordinal) && key.EndsWith(".max.connections", StringComparison.Ordinal)
        && key.Length > "listener.name.".Length + ".max.connections".Length;

    /// <summary>Kafka's <c>parseCsvMap</c>: comma-separated <c>host:count</c>, split at the last colon (so IPv6 literals work).</summary>
    private static Dictionary<string, int> ParseConnectionOverrides(string text)
    {
        const string name = "max.connections.per.ip.overrides";
        var overrides = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in ConfigKey.SplitList(text).Where(e => e.Length > 0))
        {
            var colon = entry.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(entry[(colon + 1)..].Trim(), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var count))
            {
                throw ConfigException.InvalidValue(name, text, $"Entry '{entry}' is not host:count");
            }
            if (count < 0)
            {
                throw ConfigException.InvalidValue(name, text, $"Connection limit of {entry[..colon].Trim()} must be at least 0");
            }
            overrides[entry[..colon].Trim()] = count;
        }
        return overrides;
    }

    /// <summary>Parses one <c>--override key=value</c> argument.</summary>
    public static KeyValuePair<string, string> ParseOverride(string pair)
    {
        var equals = pair.IndexOf('=');
        if (equals <= 0)
        {
            throw new ConfigException($"Invalid override '{pair}': expected key=value");
        }
        return new(pair[..equals].Trim(), pair[(equals + 1)..]);
    }

    private long ResolveRetentionMs()
    {
        if (Get("log.retention.ms") is long ms)
        {
            return ms < 0 ? -1 : ms;
        }
        if (Get("log.retention.minutes") is int minutes)
        {
            return minutes < 0 ? -1 : minutes * 60_000L;
        }
        var hours = GetInt("log.retention.hours");
        return hours < 0 ? -1 : hours * 3_600_000L;
    }

    private static Dictionary<string, SecurityProtocol> ParseProtocolMap(string text)
    {
        var map = new Dictionary<string, SecurityProtocol>(StringComparer.Ordinal);
        foreach (var entry in ConfigKey.SplitList(text).Where(e => e.Length > 0))
        {
            var colon = entry.IndexOf(':');
            if (colon <= 0 || !Endpoint.TryParseProtocol(entry[(colon + 1)..], out var protocol))
            {
                throw ConfigException.InvalidValue("listener.security.protocol.map", text, $"Entry '{entry}' is not NAME:PROTOCOL with a known protocol");
            }
            map[entry[..colon].Trim().ToUpperInvariant()] = protocol;
        }
        return map;
    }

    private IReadOnlyList<Endpoint> ParseListeners(string name, string text)
    {
        var endpoints = new List<Endpoint>();
        foreach (var uri in ConfigKey.SplitList(text).Where(u => u.Length > 0))
        {
            var endpoint = Endpoint.Parse(name, uri, ListenerSecurityProtocolMap);
            if (endpoints.Any(e => e.ListenerName == endpoint.ListenerName))
            {
                throw ConfigException.InvalidValue(name, text, $"Each listener must have a different name; {endpoint.ListenerName} appears twice");
            }
            if (endpoint.Port != 0 && endpoints.Any(e => e.Port == endpoint.Port && e.Host == endpoint.Host))
            {
                throw ConfigException.InvalidValue(name, text, $"Each listener must have a different port; {endpoint.Port} appears twice");
            }
            endpoints.Add(endpoint);
        }
        return endpoints;
    }

    private IReadOnlyList<Endpoint> ResolveAdvertisedListeners()
    {
        var advertised = GetString("advertised.listeners") is { } text
            ? ParseListeners("advertised.listeners", text)
            : Listeners.Where(l => !ControllerListenerNames.Contains(l.ListenerName)).ToArray();
        foreach (var endpoint in advertised)
        {
            if (endpoint.Host is "0.0.0.0" or "::")
            {
                throw ConfigException.InvalidValue("advertised.listeners", endpoint,
                    "advertised.listeners cannot use the nonroutable meta-address 0.0.0.0. Use a routable IP address.");
            }
        }
        // An empty host binds every interface; clients are told this machine's name, as Kafka does.
        return advertised.Select(e => e.Host.Length == 0 ? e with { Host = Dns.GetHostName() } : e).ToArray();
    }

    private void Validate()
    {
        if (ProcessRoles.Count == 0)
        {
            throw ConfigException.InvalidValue("process.roles", "", "ZooKeeper mode is not supported; set process.roles to broker, controller or both");
        }
        if (ProcessRoles.Distinct(StringComparer.Ordinal).Count() != ProcessRoles.Count)
        {
            throw ConfigException.InvalidValue("process.roles", string.Join(",", ProcessRoles), "Duplicate role names found");
        }
        if (GetInt("broker.id") is var brokerId and >= 0 && brokerId != NodeId)
        {
            throw ConfigException.InvalidValue("broker.id", brokerId, $"broker.id must equal node.id ({NodeId}) when both are set");
        }
        if (LogDirs.Count == 0)
        {
            throw ConfigException.InvalidValue("log.dirs", "", "At least one log directory must be defined via log.dirs or log.dir");
        }
        if (Listeners.Count == 0)
        {
            throw ConfigException.InvalidValue("listeners", "", "At least one listener must be defined");
        }
        if (ProcessRoles.Contains("broker") && AdvertisedListeners.Count == 0)
        {
            throw ConfigException.InvalidValue("listeners", GetString("listeners"), "A broker needs at least one listener that is not a controller listener");
        }
        if (MaxConnectionsPerIp == 0 && MaxConnectionsPerIpOverrides.Count == 0)
        {
            throw ConfigException.InvalidValue("max.connections.per.ip", 0,
                "max.connections.per.ip can be set to zero only if max.connections.per.ip.overrides property is set.");
        }
        foreach (var listener in Listeners)
        {
            ListenerMaxConnections(listener.ListenerName);
        }
        if (GetString("inter.broker.listener.name") is { } interBroker)
        {
            if (Originals.ContainsKey("security.inter.broker.protocol"))
            {
                throw new ConfigException("Only one of inter.broker.listener.name and security.inter.broker.protocol should be set.");
            }
            if (!AdvertisedListeners.Any(l => l.ListenerName == interBroker.ToUpperInvariant()))
            {
                throw ConfigException.InvalidValue("inter.broker.listener.name", interBroker, "Must be a listener name defined in advertised.listeners");
            }
        }
    }
}

/// <summary>Log lines of configuration loading.</summary>
internal static partial class ConfigLog
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Warning, Message = "These configurations '[{Keys}]' were supplied but are not used")]
    public static partial void UnknownKeys(ILogger logger, string keys);

    [LoggerMessage(EventId = 101, Level = LogLevel.Warning, Message = "These configurations '[{Keys}]' are accepted but not acted on by Samsa yet (docs/UNSUPPORTED.md)")]
    public static partial void IgnoredKeys(ILogger logger, string keys);
}

