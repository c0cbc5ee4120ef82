using System.Security.Cryptography;
using System.Text;

namespace Samsa.Broker.Security.Sasl.OAuthBearer;

/// <summary>
/// Kafka's secured OAUTHBEARER validator (<c>OAuthBearerValidatorCallbackHandler</c> with its broker JWT validator,
/// which runs jose4j): a JWS signed RS256 or ES256 by a key of the provider's JWK Set, found by <c>kid</c>
/// (<c>alg</c> "none" and every other algorithm refused). Then, as jose4j checks them for Kafka: <c>exp</c> and
/// <c>iat</c> required, <c>exp</c> and <c>nbf</c> against now with <c>sasl.oauthbearer.clock.skew.seconds</c>,
/// <c>iss</c> equal to <c>sasl.oauthbearer.expected.issuer</c> when set, and <c>aud</c> naming one of
/// <c>sasl.oauthbearer.expected.audience</c>; with no expected audience a token that carries an <c>aud</c> is refused
/// (jose4j's default audience rule, which Kafka keeps). The principal is the <c>sasl.oauthbearer.sub.claim.name</c>
/// claim, the scope the <c>sasl.oauthbearer.scope.claim.name</c> claim (informative: Kafka checks no scope here).
/// </summary>
public sealed class OAuthBearerJwksValidator(JwksKeyResolver keys, OAuthBearerJwksValidator.Options options, TimeProvider time) : IOAuthBearerValidator
{
    /// <summary>The claim rules, from Kafka's <c>sasl.oauthbearer.*</c> keys.</summary>
    public sealed record Options(string? ExpectedIssuer, IReadOnlyList<string> ExpectedAudience, string SubClaimName = "sub", string ScopeClaimName = "scope", int ClockSkewSeconds = 30);

    public OAuthBearerToken Validate(string tokenValue)
    {
        var jws = Jws.Parse(tokenValue);
        var algorithm = jws.Algorithm;
        if (algorithm is not ("RS256" or "ES256"))
        {
            throw new OAuthBearerValidationException($"The JWS algorithm \"{algorithm}\" is not allowed (RS256 and ES256 are)");
        }
        var key = keys.Resolve(algorithm, jws.KeyId)
            ?? throw new OAuthBearerValidationException($"No {algorithm} key in the JWKS for kid {jws.KeyId ?? "(none)"}");
        if (!Verify(key, algorithm, Encoding.ASCII.GetBytes(jws.SigningInput), jws.Signature))
        {
            throw new OAuthBearerValidationException($"The JWS signature does not verify with key {key.KeyId}");
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var skewMs = options.ClockSkewSeconds * 1000L;
        var expiration = jws.TimeClaimMs("exp") ?? throw new OAuthBearerValidationException("No Expiration Time (exp) claim present");
        var issuedAt = jws.TimeClaimMs("iat") ?? throw new OAuthBearerValidationException("No Issued At (iat) claim present");
        if (now >= expiration + skewMs)
        {
            throw new OAuthBearerValidationException($"The JWT is no longer valid: exp {expiration} ms, now {now} ms, allowed clock skew {options.ClockSkewSeconds} s");
        }
        if (jws.TimeClaimMs("nbf") is { } notBefore && now + skewMs < notBefore)
        {
            throw new OAuthBearerValidationException($"The JWT is not yet valid: nbf {notBefore} ms, now {now} ms, allowed clock skew {options.ClockSkewSeconds} s");
        }
        if (options.ExpectedIssuer is { } issuer && jws.StringClaim("iss") != issuer)
        {
            throw new OAuthBearerValidationException($"Issuer (iss) claim value ({jws.StringClaim("iss")}) doesn't match expected value of {issuer}");
        }
        var audience = jws.StringsClaim("aud", splitOnSpaces: false);
        if (options.ExpectedAudience.Count > 0 ? !audience.Any(options.ExpectedAudience.Contains) : audience.Count > 0)
        {
            throw new OAuthBearerValidationException(options.ExpectedAudience.Count > 0
                ? $"Audience (aud) claim [{string.Join(", ", audience)}] doesn't contain an acceptable identifier; expected one of [{string.Join(", ", options.ExpectedAudience)}]"
                : $"Audience (aud) claim [{string.Join(", ", audience)}] present in the JWT but no expected audience value(s) were provided (sasl.oauthbearer.expected.audience)");
        }
        var subject = jws.StringClaim(options.SubClaimName);
        if (string.IsNullOrWhiteSpace(subject))
        {
            throw new OAuthBearerValidationException($"{options.SubClaimName} value must be non-empty");
        }
        var scope = jws.StringsClaim(options.ScopeClaimName, splitOnSpaces: false).Where(s => s.Length > 0).ToHashSet(StringComparer.Ordinal);
        return new OAuthBearerToken(tokenValue, subject.Trim(), scope, expiration, issuedAt);
    }

    private static bool Verify(Jwk key, string algorithm, byte[] signingInput, byte[] signature)
    {
        try
        {
            return VerifyWith(key, algorithm, signingInput, signature);
        }
        catch (CryptographicException)
        {
            // A key the platform cannot import verifies nothing.
            return false;
        }
    }

    private static bool VerifyWith(Jwk key, string algorithm, byte[] signingInput, byte[] signature)
    {
        if (algorithm == "RS256" && key.Rsa is { } rsaParameters)
        {
            using var rsa = RSA.Create(rsaParameters);
            return rsa.VerifyData(signingInput, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        }
        if (algorithm == "ES256" && key.Ec is { } ecParameters && signature.Length == 64)
        {
            // JWS carries ECDSA signatures as R || S (RFC 7518 section 3.4), .NET's default IEEE P1363 format.
            using var ecdsa = ECDsa.Create(ecParameters);
            return ecdsa.VerifyData(signingInput, signature, HashAlgorithmName.SHA256);
        }
        return false;
    }
}
