using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Samsa.Broker.Config;

namespace Samsa.Broker.Security.Sasl.OAuthBearer;

/// <summary>
/// The verification keys of <c>sasl.oauthbearer.jwks.endpoint.url</c> (Kafka's <c>JwksFileVerificationKeyResolver</c>
/// and <c>RefreshingHttpsJwksVerificationKeyResolver</c>): a JWK Set (RFC 7517) read from a <c>file:</c> URL or fetched
/// over http(s). The set is cached and replaced by a background loop every
/// <c>sasl.oauthbearer.jwks.endpoint.refresh.ms</c> (a failed fetch retried after
/// <c>sasl.oauthbearer.jwks.endpoint.retry.backoff.ms</c>, doubling up to <c>...retry.backoff.max.ms</c>), so
/// <see cref="Resolve"/> never waits on I/O: it runs on a connection's SASL path. An unknown <c>kid</c> asks the loop
/// for an early refresh (a provider rotating keys), at most once per backoff. A file is read once at start-up, so a
/// bad file fails the broker's start as in Kafka, and then re-read by the same loop.
/// </summary>
public sealed class JwksKeyResolver : IDisposable
{
    /// <summary>A JWK Set larger than this is not a provider's key set.</summary>
    public const int MaxJwksBytes = 1024 * 1024;

    /// <summary>RSA keys under 2048 bits are skipped, as jose4j refuses them for Kafka.</summary>
    private const int MinRsaModulusBytes = 256;

    private readonly Func<CancellationToken, Task<string>> _fetch;
    private readonly TimeSpan _refresh;
    private readonly TimeSpan _backoff;
    private readonly TimeSpan _backoffMax;
    private readonly ILogger _logger;
    private readonly string _url;
    private readonly HttpClient? _http;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _refreshNow = new(0, 1);
    private readonly Task _loop;
    private volatile IReadOnlyList<Jwk> _keys = [];
    private readonly TimeProvider _time;
    private long _lastEarlyRefresh; // a _time timestamp

    public JwksKeyResolver(string url, TimeSpan refresh, TimeSpan backoff, TimeSpan backoffMax, ILogger logger, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _url = url;
        _refresh = refresh > TimeSpan.Zero ? refresh : TimeSpan.FromHours(1);
        _backoff = backoff > TimeSpan.Zero ? backoff : TimeSpan.FromMilliseconds(100);
        _backoffMax = backoffMax >= _backoff ? backoffMax : _backoff;
        _logger = logger;
        if (url.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            // Java's file:/path as well as file:///path.
            var path = Uri.TryCreate(url, UriKind.Absolute, out var file) && file.IsFile ? file.LocalPath : url["file:".Length..];
            _fetch = ct => File.ReadAllTextAsync(path, ct);
            try
            {
                _keys = Parse(File.ReadAllText(path));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or JsonException)
            {
                throw new ConfigException($"Invalid JWKS file {path} (sasl.oauthbearer.jwks.endpoint.url): {e.Message}");
            }
        }
        else if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
        {
            _http = new HttpClient { Timeout = TimeSpan.FromSeconds(10), MaxResponseContentBufferSize = MaxJwksBytes };
            _fetch = ct => _http.GetStringAsync(uri, ct);
        }
        else
        {
            throw new ConfigException($"Invalid value {url} for configuration sasl.oauthbearer.jwks.endpoint.url: the scheme must be file, http or https");
        }
        _loop = Task.Run(() => RefreshLoopAsync(fetchFirst: _http is not null));
    }

    /// <summary>How many keys the current set holds (0 until an http endpoint answered once).</summary>
    public int KeyCount => _keys.Count;

    /// <summary>
    /// The key for a JWS of <paramref name="algorithm"/> (RS256 or ES256) and <paramref name="keyId"/>: the key of that
    /// <c>kid</c> and type, or without a <c>kid</c> the set's only key of that type. Null when there is none.
    /// </summary>
    internal Jwk? Resolve(string algorithm, string? keyId)
    {
        var type = algorithm == "ES256" ? "EC" : "RSA";
        var candidates = _keys.Where(k => k.Type == type && (k.Algorithm is null || k.Algorithm == algorithm)).ToList();
        if (keyId is not null)
        {
            var key = candidates.FirstOrDefault(k => k.KeyId == keyId);
            if (key is null)
            {
                RequestRefresh();
            }
            return key;
        }
        return candidates.Count == 1 ? candidates[0] : null;
    }

    private void RequestRefresh()
    {
        var now = _time.GetTimestamp();
        var last = Interlocked.Read(ref _lastEarlyRefresh);
        if ((last == 0 || _time.GetElapsedTime(last, now) >= _backoff) && Interlocked.CompareExchange(ref _lastEarlyRefresh, now, last) == last)
        {
            try
            {
                _refreshNow.Release();
            }
            catch (SemaphoreFullException)
            {
                // A refresh is already asked for.
            }
        }
    }

    private async Task RefreshLoopAsync(bool fetchFirst)
    {
        var backoff = _backoff;
        var wait = fetchFirst ? TimeSpan.Zero : _refresh;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await _refreshNow.WaitAsync(wait, _stop.Token).ConfigureAwait(false);
                var keys = Parse(await _fetch(_stop.Token).ConfigureAwait(false));
                _keys = keys;
                OAuthBearerLog.JwksRefreshed(_logger, _url, keys.Count);
                backoff = _backoff;
                wait = _refresh;
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or HttpRequestException or TaskCanceledException or FormatException or JsonException)
            {
                // The last good set stays in use; a provider briefly down must not log everyone out.
                OAuthBearerLog.JwksRefreshFailed(_logger, _url, e.Message, (long)backoff.TotalMilliseconds);
                wait = backoff;
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _backoffMax.Ticks));
            }
        }
    }

    /// <summary>
    /// The RS256 and ES256 (P-256) signing keys of a JWK Set; keys of other types, curves or uses are skipped, as
    /// they can verify nothing here. Throws <see cref="FormatException"/> or <see cref="JsonException"/> for a set that
    /// is not one.
    /// </summary>
    internal static IReadOnlyList<Jwk> Parse(string json)
    {
        if (json.Length > MaxJwksBytes)
        {
            throw new FormatException($"JWKS of {json.Length} characters is larger than {MaxJwksBytes}");
        }
        using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 16 });
        if (document.RootElement.ValueKind != JsonValueKind.Object
            || !document.RootElement.TryGetProperty("keys", out var keys) || keys.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException("a JWK Set is a JSON object with a \"keys\" array");
        }
        var result = new List<Jwk>();
        foreach (var key in keys.EnumerateArray())
        {
            if (key.ValueKind != JsonValueKind.Object || Member(key, "use") is not (null or "sig"))
            {
                continue;
            }
            var (kid, alg) = (Member(key, "kid"), Member(key, "alg"));
            switch (Member(key, "kty"))
            {
                case "RSA" when Bytes(key, "n") is { Length: >= MinRsaModulusBytes } n && Bytes(key, "e") is { } e:
                    result.Add(new Jwk(kid, "RSA", alg, new RSAParameters { Modulus = n, Exponent = e }, null));
                    break;
                case "EC" when Member(key, "crv") == "P-256" && Bytes(key, "x") is { Length: 32 } x && Bytes(key, "y") is { Length: 32 } y:
                    result.Add(new Jwk(kid, "EC", alg, null, new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = x, Y = y } }));
                    break;
            }
        }
        return result;
    }

    private static string? Member(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static byte[]? Bytes(JsonElement element, string name)
    {
        if (Member(element, name) is not { } text)
        {
            return null;
        }
        try
        {
            return System.Buffers.Text.Base64Url.DecodeFromChars(text);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }
        _stop.Cancel();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // The loop ends on cancellation; nothing else is left to report at shutdown.
        }
        _http?.Dispose();
        _stop.Dispose();
        _refreshNow.Dispose();
    }
}

/// <summary>
/// One public key of a JWK Set. The parameters are kept rather than an RSA/ECDsa object, so each verification imports
/// its own (cheap for a public key) and a key set replaced by a refresh never disposes a key in use.
/// </summary>
internal sealed record Jwk(string? KeyId, string Type, string? Algorithm, RSAParameters? Rsa, ECParameters? Ec);
