using System.Buffers.Text;
using System.Text.Json;

namespace Samsa.Broker.Security.Sasl.OAuthBearer;

/// <summary>
/// A JWS in compact serialization (RFC 7515 section 7.1): <c>BASE64URL(header).BASE64URL(claims).BASE64URL(signature)</c>,
/// header and claims JSON objects (RFC 7519). Any malformed part is an <see cref="OAuthBearerValidationException"/>:
/// a bad token, never a broker error. The caller bounds the token's size before it gets here.
/// </summary>
internal sealed class Jws
{
    private static readonly JsonDocumentOptions JsonOptions = new() { MaxDepth = 16 };

    private Jws(JsonElement header, JsonElement claims, string signingInput, byte[] signature)
    {
        Header = header;
        Claims = claims;
        SigningInput = signingInput;
        Signature = signature;
    }

    public JsonElement Header { get; }

    public JsonElement Claims { get; }

    /// <summary>The ASCII <c>header.claims</c> the signature covers.</summary>
    public string SigningInput { get; }

    public byte[] Signature { get; }

    public static Jws Parse(string token)
    {
        var parts = token.Split('.');
        if (parts.Length != 3)
        {
            throw new OAuthBearerValidationException($"A JWS compact serialization must have 3 dot-separated Base64URL-encoded values, not {parts.Length}");
        }
        return new Jws(Json(parts[0], "header"), Json(parts[1], "claims"), $"{parts[0]}.{parts[1]}", Decode(parts[2], "signature"));
    }

    /// <summary>The header's <c>alg</c>, or null.</summary>
    public string? Algorithm => StringMember(Header, "alg");

    /// <summary>The header's <c>kid</c>, or null.</summary>
    public string? KeyId => StringMember(Header, "kid");

    /// <summary>A string claim, null when absent; throws when it has another type.</summary>
    public string? StringClaim(string name) => Claims.TryGetProperty(name, out var value)
        ? value.ValueKind == JsonValueKind.String ? value.GetString() : throw new OAuthBearerValidationException($"The claim '{name}' is not a string")
        : null;

    /// <summary>
    /// A NumericDate claim (seconds since the epoch, possibly fractional) in milliseconds, null when absent; throws
    /// when it is not a number.
    /// </summary>
    public long? TimeClaimMs(string name) => Claims.TryGetProperty(name, out var value)
        ? value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var seconds) && double.IsFinite(seconds) && Math.Abs(seconds) < 1e13
            ? (long)Math.Round(seconds * 1000)
            : throw new OAuthBearerValidationException($"The claim '{name}' is not a number")
        : null;

    /// <summary>
    /// A claim holding one string or a list of strings (<c>aud</c>, <c>scope</c>); a string is split on spaces when
    /// <paramref name="splitOnSpaces"/> (RFC 6749's scope syntax). Empty when absent.
    /// </summary>
    public IReadOnlyList<string> StringsClaim(string name, bool splitOnSpaces)
    {
        if (!Claims.TryGetProperty(name, out var value))
        {
            return [];
        }
        if (value.ValueKind == JsonValueKind.String)
        {
            var text = value.GetString()!;
            return splitOnSpaces ? text.Split(' ', StringSplitOptions.RemoveEmptyEntries) : [text];
        }
        if (value.ValueKind == JsonValueKind.Array)
        {
            var list = new List<string>();
            foreach (var item in value.EnumerateArray())
            {
                list.Add(item.ValueKind == JsonValueKind.String ? item.GetString()!.Trim() : throw new OAuthBearerValidationException($"The claim '{name}' holds a non-string value"));
            }
            return list;
        }
        throw new OAuthBearerValidationException($"The claim '{name}' is neither a string nor a list of strings");
    }

    internal static byte[] Decode(string part, string what)
    {
        try
        {
            return Base64Url.DecodeFromChars(part);
        }
        catch (FormatException)
        {
            throw new OAuthBearerValidationException($"The JWS {what} is not Base64URL");
        }
    }

    private static JsonElement Json(string part, string what)
    {
        var bytes = Decode(part, what);
        try
        {
            using var document = JsonDocument.Parse(bytes, JsonOptions);
            return document.RootElement.ValueKind == JsonValueKind.Object
                ? document.RootElement.Clone()
                : throw new OAuthBearerValidationException($"The JWS {what} is not a JSON object");
        }
        catch (JsonException)
        {
            throw new OAuthBearerValidationException($"The JWS {what} is not JSON");
        }
    }

    private static string? StringMember(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
