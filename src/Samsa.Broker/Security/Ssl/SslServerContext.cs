using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Samsa.Broker.Config;

namespace Samsa.Broker.Security.Ssl;

/// <summary>
/// Kafka's <c>SslFactory</c> for one SSL or SASL_SSL listener: the key store (PEM or PKCS12, from a file or inline
/// PEM), the trust store client certificates are checked against, <c>ssl.client.auth</c>, the enabled protocols, and
/// the mapping from a client certificate to a principal. Each key is read with the listener's override first
/// (<c>listener.name.{listener}.ssl.*</c>).
/// </summary>
public sealed class SslServerContext
{
    private readonly X509Certificate2Collection? _trusted;

    private SslServerContext(SslServerAuthenticationOptions options, X509Certificate2Collection? trusted, string clientAuth, SslPrincipalMapper mapper)
    {
        Options = options;
        _trusted = trusted;
        ClientAuth = clientAuth;
        PrincipalMapper = mapper;
        options.RemoteCertificateValidationCallback = ValidateClient;
    }

    public SslServerAuthenticationOptions Options { get; }

    /// <summary><c>required</c>, <c>requested</c> or <c>none</c>.</summary>
    public string ClientAuth { get; }

    public SslPrincipalMapper PrincipalMapper { get; }

    /// <summary>Reads the listener's TLS settings; a missing or unreadable key store is a <see cref="ConfigException"/>.</summary>
    public static SslServerContext Create(KafkaConfig config, string listenerName)
    {
        string? Get(string key) => config.ListenerString(listenerName, key);
        var certificate = LoadKeyStore(Get, listenerName, out var chain);
        var trusted = LoadTrustStore(Get);
        var clientAuth = (Get("ssl.client.auth") ?? "none").ToLowerInvariant();
        var protocols = SslProtocols.None;
        foreach (var name in config.ListenerValue(listenerName, "ssl.enabled.protocols") as IReadOnlyList<string> ?? ["TLSv1.2", "TLSv1.3"])
        {
            protocols |= name switch
            {
                "TLSv1.2" => SslProtocols.Tls12,
                "TLSv1.3" => SslProtocols.Tls13,
                _ => throw ConfigException.InvalidValue("ssl.enabled.protocols", name, "only TLSv1.2 and TLSv1.3 are supported"),
            };
        }
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = SslStreamCertificateContext.Create(certificate, chain, offline: true),
            ClientCertificateRequired = clientAuth is "required" or "requested",
            EnabledSslProtocols = protocols,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        };
        SslPrincipalMapper mapper;
        try
        {
            mapper = SslPrincipalMapper.Parse(Get("ssl.principal.mapping.rules"));
        }
        catch (ArgumentException e)
        {
            throw ConfigException.InvalidValue("ssl.principal.mapping.rules", Get("ssl.principal.mapping.rules") ?? "", e.Message);
        }
        return new SslServerContext(options, trusted, clientAuth, mapper);
    }

    /// <summary>The principal of a connection after its handshake: the mapped subject, or ANONYMOUS without a certificate.</summary>
    public KafkaPrincipal PrincipalOf(X509Certificate? clientCertificate)
    {
        if (clientCertificate is null)
        {
            return KafkaPrincipal.Anonymous;
        }
        var subject = clientCertificate is X509Certificate2 c2 ? c2.SubjectName : new X509Certificate2(clientCertificate).SubjectName;
        return KafkaPrincipal.User(PrincipalMapper.GetName(Rfc2253(subject)));
    }

    /// <summary>The subject as Java's <c>X500Principal.getName()</c> writes it: most specific first, commas without spaces.</summary>
    public static string Rfc2253(X500DistinguishedName name) =>
        string.Join(",", name.EnumerateRelativeDistinguishedNames(reversed: true).Select(rdn =>
        {
            var oid = rdn.GetSingleElementType();
            var key = oid.FriendlyName switch
            {
                "CN" or "C" or "L" or "S" or "O" or "OU" or "DC" => oid.FriendlyName,
                "ST" => "ST",
                _ => oid.Value switch
                {
                    "2.5.4.3" => "CN",
                    "2.5.4.6" => "C",
                    "2.5.4.7" => "L",
                    "2.5.4.8" => "ST",
                    "2.5.4.10" => "O",
                    "2.5.4.11" => "OU",
                    "0.9.2342.19200300.100.1.25" => "DC",
                    "0.9.2342.19200300.100.1.1" => "UID",
                    _ => oid.Value,
                },
            };
            if (key == "S")
            {
                key = "ST";
            }
            return $"{key}={Escape(rdn.GetSingleElementValue() ?? "")}";
        }));

    private static string Escape(string value)
    {
        var text = new System.Text.StringBuilder();
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c is ',' or '+' or '"' or '\\' or '<' or '>' or ';' || (i == 0 && c is '#' or ' ') || (i == value.Length - 1 && c == ' '))
            {
                text.Append('\\');
            }
            text.Append(c);
        }
        return text.ToString();
    }

    private bool ValidateClient(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null)
        {
            // No certificate: refused only when one is required.
            return ClientAuth != "required";
        }
        if (_trusted is null)
        {
            return errors == SslPolicyErrors.None;
        }
        return ChainsTo(certificate, chain, _trusted);
    }

    /// <summary>True when <paramref name="certificate"/> (with the intermediates the peer sent) chains to one of <paramref name="trusted"/>.</summary>
    internal static bool ChainsTo(X509Certificate certificate, X509Chain? chain, X509Certificate2Collection trusted)
    {
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        custom.ChainPolicy.CustomTrustStore.AddRange(trusted);
        if (chain is not null)
        {
            foreach (var element in chain.ChainElements.Skip(1))
            {
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }
        return custom.Build(certificate as X509Certificate2 ?? new X509Certificate2(certificate));
    }

    private static X509Certificate2 LoadKeyStore(Func<string, string?> get, string listenerName, out X509Certificate2Collection chain)
    {
        chain = [];
        var type = (get("ssl.keystore.type") ?? "JKS").ToUpperInvariant();
        var password = get("ssl.keystore.password");
        var keyPassword = get("ssl.key.password") ?? password;
        var inlineChain = get("ssl.keystore.certificate.chain");
        var location = get("ssl.keystore.location");
        try
        {
            if (inlineChain is not null)
            {
                var key = get("ssl.keystore.key") ?? throw new ConfigException($"ssl.keystore.key must be set with ssl.keystore.certificate.chain on listener {listenerName}");
                return FromPem(inlineChain, key, keyPassword, chain);
            }
            if (location is null)
            {
                throw new ConfigException($"Listener {listenerName} is SSL but ssl.keystore.location is not set");
            }
            var bytes = File.ReadAllBytes(location);
            if (type == "PEM" || LooksLikePem(bytes))
            {
                var text = System.Text.Encoding.ASCII.GetString(bytes);
                return FromPem(text, text, keyPassword, chain);
            }
            if (bytes.Length >= 4 && bytes[0] == 0xFE && bytes[1] == 0xED && bytes[2] == 0xFE && bytes[3] == 0xED)
            {
                throw new ConfigException($"Key store {location} is a Java JKS file; convert it to PKCS12 (keytool -importkeystore -deststoretype PKCS12) or PEM");
            }
            // PKCS12 (Java writes PKCS12 by default even for type JKS since Java 9).
            var all = X509CertificateLoader.LoadPkcs12CollectionFromFile(location, password, X509KeyStorageFlags.EphemeralKeySet);
            var leaf = all.FirstOrDefault(c => c.HasPrivateKey) ?? throw new ConfigException($"Key store {location} holds no private key");
            foreach (var c in all.Where(c => !ReferenceEquals(c, leaf)))
            {
                chain.Add(c);
            }
            return leaf;
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"Failed to load SSL key store {location ?? "(inline)"} for listener {listenerName}: {e.Message}");
        }
    }

    private static bool LooksLikePem(byte[] bytes) =>
        System.Text.Encoding.ASCII.GetString(bytes, 0, Math.Min(bytes.Length, 4096)).Contains("-----BEGIN", StringComparison.Ordinal);

    private static X509Certificate2 FromPem(string certificates, string key, string? keyPassword, X509Certificate2Collection chain)
    {
        var leaf = key.Contains("ENCRYPTED PRIVATE KEY", StringComparison.Ordinal)
            ? X509Certificate2.CreateFromEncryptedPem(certificates, key, keyPassword ?? "")
            : X509Certificate2.CreateFromPem(certificates, key);
        var all = new X509Certificate2Collection();
        all.ImportFromPem(certificates);
        foreach (var c in all.Skip(1))
        {
            chain.Add(c);
        }
        return leaf;
    }

    /// <summary>The trust store's certificates (PEM or PKCS12, a file or inline PEM), or null when none is configured.</summary>
    internal static X509Certificate2Collection? LoadTrustStore(Func<string, string?> get)
    {
        var inline = get("ssl.truststore.certificates");
        var location = get("ssl.truststore.location");
        var trusted = new X509Certificate2Collection();
        try
        {
            if (inline is not null)
            {
                trusted.ImportFromPem(inline);
                return trusted;
            }
            if (location is null)
            {
                return null;
            }
            var bytes = File.ReadAllBytes(location);
            if ((get("ssl.truststore.type") ?? "JKS").Equals("PEM", StringComparison.OrdinalIgnoreCase) || LooksLikePem(bytes))
            {
                trusted.ImportFromPem(System.Text.Encoding.ASCII.GetString(bytes));
            }
            else
            {
                trusted.AddRange(X509CertificateLoader.LoadPkcs12CollectionFromFile(location, get("ssl.truststore.password"), X509KeyStorageFlags.EphemeralKeySet));
            }
            return trusted;
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"Failed to load SSL trust store {location ?? "(inline)"}: {e.Message}");
        }
    }
}
