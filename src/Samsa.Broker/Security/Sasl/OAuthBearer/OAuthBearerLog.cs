using Microsoft.Extensions.Logging;

namespace Samsa.Broker.Security.Sasl.OAuthBearer;

/// <summary>OAUTHBEARER log lines; event ids 970-979 are stable.</summary>
internal static partial class OAuthBearerLog
{
    [LoggerMessage(EventId = 970, Level = LogLevel.Debug, Message = "Loaded {Keys} signing keys from the JWKS at {Url}")]
    public static partial void JwksRefreshed(ILogger logger, string url, int keys);

    [LoggerMessage(EventId = 971, Level = LogLevel.Warning, Message = "Could not refresh the JWKS from {Url}: {Reason}; retrying in {BackoffMs} ms with the keys held until now")]
    public static partial void JwksRefreshFailed(ILogger logger, string url, string reason, long backoffMs);

    [LoggerMessage(EventId = 972, Level = LogLevel.Information, Message = "OAUTHBEARER token refused ({Status}): {Reason}")]
    public static partial void TokenRefused(ILogger logger, string status, string reason);
}
