using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Samsa.Broker.Config;
using Samsa.Broker.Security.Sasl.OAuthBearer;
using Samsa.Metadata.Image;
using Samsa.Metadata.Scram;

namespace Samsa.Broker.Security.Sasl;

/// <summary>
/// The broker's SASL mechanisms (Kafka's <c>SaslChannelBuilder</c> server side): <c>sasl.enabled.mechanisms</c>, or
/// <c>listener.name.&lt;listener&gt;.sasl.enabled.mechanisms</c> for one listener, restricted to the mechanisms Samsa
/// implements (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER); others listed there (Kafka's default GSSAPI) are
/// not offered. PLAIN users come from the <c>user_&lt;name&gt;</c> options of
/// <c>listener.name.&lt;listener&gt;.plain.sasl.jaas.config</c>, else <c>sasl.jaas.config</c>; SCRAM credentials from
/// the metadata image current when each exchange reads them, so a credential altered a moment ago is used at once.
/// OAUTHBEARER tokens go to the listener's validator, chosen by <c>sasl.server.callback.handler.class</c> (Kafka's
/// secured <see cref="SecuredValidatorHandler"/>, else the unsecured default) and built once per listener at start-up,
/// so a bad JWKS file or URL fails the start as in Kafka.
/// </summary>
public sealed class SaslServerFactory : ISaslServerFactory, IDisposable
{
    public static readonly IReadOnlyList<string> Supported = [PlainSaslServer.Mechanism, "SCRAM-SHA-256", "SCRAM-SHA-512", OAuthBearerSaslServer.Mechanism];

    /// <summary>Kafka's secured validator handler, and its pre-3.4 name which Kafka still accepts.</summary>
    public const string SecuredValidatorHandler = "org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler";
    private const string SecuredValidatorHandlerOld = "org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerValidatorCallbackHandler";
    private const string UnsecuredValidatorHandler = "org.apache.kafka.common.security.oauthbearer.internals.unsecured.OAuthBearerUnsecuredValidatorCallbackHandler";

    private readonly KafkaConfig _config;
    private readonly MetadataCache _metadata;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ConcurrentDictionary<string, IReadOnlyList<string>> _enabled = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IReadOnlyDictionary<string, string>> _plainUsers = new(StringComparer.Ordinal);
    // Built at start for every listener offering OAUTHBEARER (a JWKS file is read then), so an exchange only looks up.
    private readonly Dictionary<string, IOAuthBearerValidator> _oauthValidators = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<JwksKeyResolver> _jwks = [];

    public SaslServerFactory(KafkaConfig config, MetadataCache metadata, TimeProvider? time = null, ILoggerFactory? loggerFactory = null)
    {
        _config = config;
        _metadata = metadata;
        _time = time ?? TimeProvider.System;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        foreach (var endpoint in config.Listeners)
        {
            if (EnabledMechanisms(endpoint.ListenerName).Contains(OAuthBearerSaslServer.Mechanism))
            {
                _oauthValidators[endpoint.ListenerName] = CreateOAuthValidator(endpoint.ListenerName);
            }
        }
    }

    public IReadOnlyList<string> EnabledMechanisms(string listenerName) =>
        _enabled.GetOrAdd(listenerName, name =>
        {
            var listed = _config.Originals.TryGetValue($"{Prefix(name)}sasl.enabled.mechanisms", out var perListener)
                ? ConfigKey.SplitList(perListener)
                : _config.GetList("sasl.enabled.mechanisms");
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
        if (mechanism == OAuthBearerSaslServer.Mechanism)
        {
            // Only listeners of this node's config have a validator.
            return _oauthValidators.TryGetValue(listenerName, out var validator)
                ? new OAuthBearerSaslServer(validator, _time, _loggerFactory.CreateLogger<OAuthBearerSaslServer>())
                : null;
        }
        var scram = ScramMechanisms.FromMechanismName(mechanism);
        return new ScramSaslServer(scram, user => _metadata.Current.ScramCredentialOf(user, scram));
    }

    /// <summary>The JAAS config of one mechanism on one listener: the listener's own property first, then the broker-wide one.</summary>
    public JaasConfig? Jaas(string listenerName, string mechanism) => JaasConfig.Of(_config, listenerName, mechanism);

    private IReadOnlyDictionary<string, string> PlainUsers(string listenerName) =>
        Jaas(listenerName, PlainSaslServer.Mechanism)?.Options ?? new Dictionary<string, string>();

    private IOAuthBearerValidator CreateOAuthValidator(string listenerName)
    {
        const string mechanism = OAuthBearerSaslServer.Mechanism;
        var handler = MechanismValue(listenerName, mechanism, "sasl.server.callback.handler.class") as string;
        if (handler is null or UnsecuredValidatorHandler)
        {
            try
            {
                return new OAuthBearerUnsecuredValidator(Jaas(listenerName, mechanism)?.Options ?? new Dictionary<string, string>(), _time);
            }
            catch (FormatException e)
            {
                throw new ConfigException($"Invalid OAUTHBEARER JAAS config of listener {listenerName}: {e.Message}");
            }
        }
        if (handler is not (SecuredValidatorHandler or SecuredValidatorHandlerOld))
        {
            throw new ConfigException($"sasl.server.callback.handler.class {handler} of listener {listenerName} is not supported for OAUTHBEARER (supported: {SecuredValidatorHandler})");
        }
        var url = MechanismValue(listenerName, mechanism, "sasl.oauthbearer.jwks.endpoint.url") as string
            ?? throw new ConfigException($"{SecuredValidatorHandler} on listener {listenerName} needs sasl.oauthbearer.jwks.endpoint.url");
        var keys = new JwksKeyResolver(url,
            TimeSpan.FromMilliseconds((long)MechanismValue(listenerName, mechanism, "sasl.oauthbearer.jwks.endpoint.refresh.ms")!),
            TimeSpan.FromMilliseconds((long)MechanismValue(listenerName, mechanism, "sasl.oauthbearer.jwks.endpoint.retry.backoff.ms")!),
            TimeSpan.FromMilliseconds((long)MechanismValue(listenerName, mechanism, "sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms")!),
            _loggerFactory.CreateLogger<JwksKeyResolver>(), _time);
        _jwks.Add(keys);
        var options = new OAuthBearerJwksValidator.Options(
            MechanismValue(listenerName, mechanism, "sasl.oauthbearer.expected.issuer") as string,
            MechanismValue(listenerName, mechanism, "sasl.oauthbearer.expected.audience") as IReadOnlyList<string> ?? [],
            MechanismValue(listenerName, mechanism, "sasl.oauthbearer.sub.claim.name") as string ?? "sub",
            MechanismValue(listenerName, mechanism, "sasl.oauthbearer.scope.claim.name") as string ?? "scope",
            (int)MechanismValue(listenerName, mechanism, "sasl.oauthbearer.clock.skew.seconds")!);
        return new OAuthBearerJwksValidator(keys, options, _time);
    }

    /// <summary>
    /// A SASL setting as Kafka resolves it for one mechanism on one listener:
    /// <c>listener.name.&lt;l&gt;.&lt;mechanism&gt;.&lt;name&gt;</c>, then <c>listener.name.&lt;l&gt;.&lt;name&gt;</c>, then the broker-wide key.
    /// </summary>
    private object? MechanismValue(string listenerName, string mechanism, string name)
    {
        var key = $"{Prefix(listenerName)}{mechanism.ToLowerInvariant()}.{name}";
        return _config.Originals.TryGetValue(key, out var raw)
            ? (KafkaConfigDefinitions.All[name] with { Name = key }).Parse(raw)
            : _config.ListenerValue(listenerName, name);
    }

    private static string Prefix(string listenerName) => $"listener.name.{listenerName.ToLowerInvariant()}.";

    public void Dispose()
    {
        foreach (var keys in _jwks)
        {
            keys.Dispose();
        }
    }
}
