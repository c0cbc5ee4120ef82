using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Samsa.Broker.Config;
using Samsa.Broker.Security.Sasl;
using Samsa.Metadata.Image;
using Samsa.Metadata.Scram;

namespace Samsa.Broker.WebConsole;

/// <summary>
/// HTTP Basic authentication of the web console against the broker's own SASL users: the PLAIN users of any
/// listener's JAAS config (<c>user_&lt;name&gt;="password"</c>, checked by <see cref="PlainSaslServer"/> itself) and the
/// SCRAM credentials in the metadata image (the password salted and hashed as RFC 5802 does and compared with the
/// stored key in constant time). The console asks for credentials only while the broker has such users; a broker
/// with none (the zero-config start) serves the console openly, as it serves Kafka clients.
/// </summary>
public sealed class ConsoleAuthenticator
{
    private readonly IReadOnlyList<IReadOnlyDictionary<string, string>> _plainJaas;
    private readonly MetadataCache _metadata;
    // A successful SCRAM check (PBKDF2, thousands of iterations) is remembered for the credential it was checked
    // against, so the console's polling does not hash on every request; a changed credential is a new object.
    private readonly ConcurrentDictionary<string, ScramCredential> _verified = new(StringComparer.Ordinal);
    private const int MaxRemembered = 64;

    public ConsoleAuthenticator(KafkaConfig config, MetadataCache metadata)
    {
        _metadata = metadata;
        _plainJaas = [.. config.Listeners
            .Select(l => PlainOptions(config, l.ListenerName))
            .OfType<IReadOnlyDictionary<string, string>>()
            .Where(o => o.Keys.Any(k => k.StartsWith("user_", StringComparison.Ordinal)))];
    }

    private static IReadOnlyDictionary<string, string>? PlainOptions(KafkaConfig config, string listenerName)
    {
        try
        {
            return JaasConfig.Of(config, listenerName, PlainSaslServer.Mechanism)?.Options;
        }
        catch (FormatException)
        {
            // A malformed JAAS config fails the SASL exchanges of its listener; it names no console user either.
            return null;
        }
    }

    /// <summary>Whether the broker has SASL users, so the console must ask for credentials.</summary>
    public bool Required => _plainJaas.Count > 0 || !_metadata.Current.ScramCredentials.IsEmpty;

    /// <summary>Checks an <c>Authorization: Basic ...</c> header value; the user name when it names a known user.</summary>
    public string? Authenticate(string? authorization)
    {
        if (authorization is null || !authorization.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase) || authorization.Length > 4096)
        {
            return null;
        }
        string decoded;
        try
        {
            decoded = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(Convert.FromBase64String(authorization[6..].Trim()));
        }
        catch (FormatException)
        {
            return null;
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == decoded.Length - 1)
        {
            return null;
        }
        var (user, password) = (decoded[..colon], decoded[(colon + 1)..]);
        return CheckPlain(user, password) || CheckScram(user, password) ? user : null;
    }

    private bool CheckPlain(string user, string password)
    {
        if (user.Contains('\0', StringComparison.Ordinal) || password.Contains('\0', StringComparison.Ordinal))
        {
            return false;
        }
        var response = Encoding.UTF8.GetBytes($"\0{user}\0{password}");
        foreach (var options in _plainJaas)
        {
            try
            {
                var server = new PlainSaslServer(options);
                server.EvaluateResponse(response);
                if (server.IsComplete)
                {
                    return true;
                }
            }
            catch (SaslAuthenticationException)
            {
                // Not a user of this listener; try the next.
            }
        }
        return false;
    }

    private bool CheckScram(string user, string password)
    {
        if (!_metadata.Current.ScramCredentials.TryGetValue(user, out var credentials))
        {
            return false;
        }
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(user + "\0" + password)));
        if (_verified.TryGetValue(key, out var known) && credentials.Values.Any(c => ReferenceEquals(c, known)))
        {
            return true;
        }
        foreach (var (mechanism, credential) in credentials)
        {
            var formatter = new ScramFormatter(mechanism);
            var storedKey = formatter.StoredKey(formatter.ClientKey(formatter.SaltedPassword(password, credential.Salt, credential.Iterations)));
            if (CryptographicOperations.FixedTimeEquals(storedKey, credential.StoredKey))
            {
                if (_verified.Count >= MaxRemembered)
                {
                    _verified.Clear();
                }
                _verified[key] = credential;
                return true;
            }
        }
        return false;
    }
}
