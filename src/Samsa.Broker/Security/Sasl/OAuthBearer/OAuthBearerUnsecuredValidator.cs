using System.Globalization;

namespace Samsa.Broker.Security.Sasl.OAuthBearer;

/// <summary>
/// Kafka's default OAUTHBEARER validator (<c>OAuthBearerUnsecuredValidatorCallbackHandler</c> with
/// <c>OAuthBearerUnsecuredJws</c>): an unsecured JWT (RFC 7519 section 6: <c>alg</c> "none", empty signature) whose
/// claims are trusted as they stand. For development only, as in Kafka. Options come from the listener's
/// OAUTHBEARER JAAS config: <c>unsecuredValidatorPrincipalClaimName</c> (default <c>sub</c>),
/// <c>unsecuredValidatorScopeClaimName</c> (default <c>scope</c>), <c>unsecuredValidatorRequiredScope</c>
/// (space-separated) and <c>unsecuredValidatorAllowableClockSkewMs</c> (default 0).
/// </summary>
public sealed class OAuthBearerUnsecuredValidator : IOAuthBearerValidator
{
    private readonly string _principalClaimName;
    private readonly string _scopeClaimName;
    private readonly IReadOnlyList<string> _requiredScope;
    private readonly long _allowableClockSkewMs;
    private readonly TimeProvider _time;

    public OAuthBearerUnsecuredValidator(IReadOnlyDictionary<string, string> jaasOptions, TimeProvider time)
    {
        _principalClaimName = Option(jaasOptions, "unsecuredValidatorPrincipalClaimName") ?? "sub";
        _scopeClaimName = Option(jaasOptions, "unsecuredValidatorScopeClaimName") ?? "scope";
        _requiredScope = Option(jaasOptions, "unsecuredValidatorRequiredScope")?.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [];
        var skew = Option(jaasOptions, "unsecuredValidatorAllowableClockSkewMs");
        _allowableClockSkewMs = skew is null ? 0
            : long.TryParse(skew, NumberStyles.None, CultureInfo.InvariantCulture, out var ms) && ms <= int.MaxValue ? ms
            : throw new FormatException($"Invalid value for unsecuredValidatorAllowableClockSkewMs: {skew}");
        _time = time;
    }

    public OAuthBearerToken Validate(string tokenValue)
    {
        var jws = Jws.Parse(tokenValue);
        if (jws.Signature.Length != 0)
        {
            throw new OAuthBearerValidationException("Unsecured JWS must not contain a digital signature");
        }
        if (jws.Algorithm != "none")
        {
            throw new OAuthBearerValidationException($"Unsecured JWS must have alg \"none\", not \"{jws.Algorithm}\"");
        }
        var expiration = jws.TimeClaimMs("exp") ?? throw new OAuthBearerValidationException("No expiration time in JWT");
        var principal = jws.StringClaim(_principalClaimName);
        if (string.IsNullOrWhiteSpace(principal))
        {
            throw new OAuthBearerValidationException($"No principal name in JWT claim: {_principalClaimName}");
        }
        var issuedAt = jws.TimeClaimMs("iat");
        var scope = jws.StringsClaim(_scopeClaimName, splitOnSpaces: true).Where(s => s.Length > 0).ToHashSet(StringComparer.Ordinal);

        // Kafka's checks, in its order: issued-at not in the future, not expired, expiry after issue, required scope.
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        if (issuedAt is { } iat && iat > now + _allowableClockSkewMs)
        {
            throw new OAuthBearerValidationException($"The indicated time (iat={iat} ms) is in the future (now={now} ms, allowable clock skew {_allowableClockSkewMs} ms)");
        }
        if (now - _allowableClockSkewMs >= expiration)
        {
            throw new OAuthBearerValidationException($"The token expired at {expiration} ms (now={now} ms, allowable clock skew {_allowableClockSkewMs} ms)");
        }
        if (issuedAt is { } start && expiration <= start)
        {
            throw new OAuthBearerValidationException($"The token's expiration time ({expiration} ms) is not after its issued-at time ({start} ms)");
        }
        var missing = _requiredScope.Where(s => !scope.Contains(s)).ToArray();
        if (missing.Length > 0)
        {
            throw new OAuthBearerValidationException($"The token's scope lacks {string.Join(' ', missing)}", string.Join(' ', _requiredScope));
        }
        return new OAuthBearerToken(tokenValue, principal, scope, expiration, issuedAt);
    }

    private static string? Option(IReadOnlyDictionary<string, string> options, string name) =>
        options.TryGetValue(name, out var value) && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;
}
