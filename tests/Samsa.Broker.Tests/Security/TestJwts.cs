using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Samsa.Broker.Tests.Security;

/// <summary>
/// JWTs and JWK Sets made in the test (RFC 7515/7517/7519), with keys generated here: what an identity provider and
/// librdkafka's unsecured token builder produce. Also compiled into Samsa.Interop.Tests.
/// </summary>
public static class TestJwts
{
    public static long NowSeconds => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary>An unsecured JWT: <c>{"alg":"none"}</c>, the claims, an empty signature.</summary>
    public static string Unsecured(Dictionary<string, object?> claims) => $"{Part(new Dictionary<string, object?> { ["alg"] = "none" })}.{Part(claims)}.";

    /// <summary>Standard claims, valid for an hour: sub, iat, exp, plus <paramref name="extra"/> (a null value removes a claim).</summary>
    public static Dictionary<string, object?> Claims(string sub = "alice", long? expiresInSeconds = 3600, params (string Name, object? Value)[] extra)
    {
        var now = NowSeconds;
        var claims = new Dictionary<string, object?> { ["sub"] = sub, ["iat"] = now, ["exp"] = now + expiresInSeconds };
        foreach (var (name, value) in extra)
        {
            claims[name] = value;
        }
        foreach (var name in claims.Where(c => c.Value is null).Select(c => c.Key).ToList())
        {
            claims.Remove(name);
        }
        return claims;
    }

    public static string Rs256(RSA key, string? kid, Dictionary<string, object?> claims) =>
        Signed("RS256", kid, claims, input => key.SignData(input, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));

    public static string Es256(ECDsa key, string? kid, Dictionary<string, object?> claims) =>
        Signed("ES256", kid, claims, input => key.SignData(input, HashAlgorithmName.SHA256));

    /// <summary>The JWK Set of the public halves of <paramref name="keys"/>.</summary>
    public static string Jwks(params (string Kid, AsymmetricAlgorithm Key)[] keys) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["keys"] = keys.Select(k => k.Key switch
        {
            RSA rsa => (object)new Dictionary<string, string>
            {
                ["kty"] = "RSA",
                ["kid"] = k.Kid,
                ["use"] = "sig",
                ["alg"] = "RS256",
                ["n"] = Base64Url.EncodeToString(rsa.ExportParameters(false).Modulus),
                ["e"] = Base64Url.EncodeToString(rsa.ExportParameters(false).Exponent),
            },
            ECDsa ec => new Dictionary<string, string>
            {
                ["kty"] = "EC",
                ["kid"] = k.Kid,
                ["crv"] = "P-256",
                ["x"] = Base64Url.EncodeToString(ec.ExportParameters(false).Q.X),
                ["y"] = Base64Url.EncodeToString(ec.ExportParameters(false).Q.Y),
            },
            _ => throw new ArgumentException("RSA or ECDsa keys only"),
        }).ToList(),
    });

    private static string Signed(string alg, string? kid, Dictionary<string, object?> claims, Func<byte[], byte[]> sign)
    {
        var header = new Dictionary<string, object?> { ["alg"] = alg, ["typ"] = "JWT" };
        if (kid is not null)
        {
            header["kid"] = kid;
        }
        var input = $"{Part(header)}.{Part(claims)}";
        return $"{input}.{Base64Url.EncodeToString(sign(Encoding.ASCII.GetBytes(input)))}";
    }

    private static string Part(Dictionary<string, object?> json) => Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(json));
}
