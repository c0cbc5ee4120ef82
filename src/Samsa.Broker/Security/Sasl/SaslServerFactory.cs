using System.Collections.Concurrent;
using Samsa.Broker.Config;
using Samsa.Metadata.Image;
using Samsa.Metadata.Scram;

namespace Samsa.Broker.Security.Sasl;

/// <summary>
/// The broker's SASL mechanisms (Kafka's <c>SaslChannelBuilder</c> server side): <c>sasl.enabled.mechanisms</c>, or
/// <c>listener.name.&lt;listener&gt;.sasl.enabled.mechanisms</c> for one listener, restricted to the mechanisms Samsa
/// implements (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512); others listed there (Kafka's default GSSAPI, OAUTHBEARER) are
/// not offered. PLAIN users come from the <c>user_&lt;name&gt;</c> options of
/// <c>listener.name.&lt;listener&gt;.plain.sasl.jaas.config</c>, else <c>sasl.jaas.config</c>; SCRAM credentials from
/// the metadata image current when each exchange reads them, so a credential altered a moment ago is used at once.
/// </summary>
public sealed class SaslServerFactory(KafkaConfig config, MetadataCache metadata) : ISaslServerFactory
{
    public static readonly IReadOnlyList<string> Supported = [PlainSaslServer.Mechanism, "SCRAM-SHA-256", "SCRAM-SHA-512"];

    private readonly ConcurrentDictionary<string, IReadOnlyList<string>> _enabled = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IReadOnlyDictionary<string, string>> _plainUsers = new(StringComparer.Ordinal);

    public IReadOnlyList<string> EnabledMechanisms(string listenerName) =>
        _enabled.GetOrAdd(listenerName, name =>
        {
            var listed = config.Originals.TryGetValue($"{Prefix(name)}sasl.enabled.mechanisms", out var perListener)
                ? ConfigKey.SplitList(perListener)
                : config.GetList("sasl.enabled.mechanisms");
            return [.. listed.Select(m => m.Trim()).Where(Supported.Contains).Distinct(StringComparer.Ordinal)];
        });

    public ISaslServer? Create(string listenerName, string mechanism)
    {
        if (!EnabledMechanisms(listenerName).Contains(mechanism))
        {
            return null;
        }
        if (mechanism == PlainSaslServer.Mechanism)
        {
            return new PlainSaslServer(_plainUsers.GetOrAdd(listenerName, PlainUsers));
        }
        var scram = ScramMechanisms.FromMechanismName(mechanism);
        return new ScramSaslServer(scram, user => metadata.Current.ScramCredentialOf(user, scram));
    }

    /// <summary>The JAAS config of one mechanism on one listener: the listener's own property first, then the broker-wide one.</summary>
    public JaasConfig? Jaas(string listenerName, string mechanism) => JaasConfig.Of(config, listenerName, mechanism);

    private IReadOnlyDictionary<string, string> PlainUsers(string listenerName) =>
        Jaas(listenerName, PlainSaslServer.Mechanism)?.Options ?? new Dictionary<string, string>();

    private static string Prefix(string listenerName) => $"listener.name.{listenerName.ToLowerInvariant()}.";
}
