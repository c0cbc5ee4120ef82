using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Samsa.Metadata.Controller;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Handlers;

/// <summary>
/// ApiVersions (key 18), versions 0-4.
/// <list type="bullet">
/// <item>Advertises exactly the handlers the broker serves, each with its declared range; ZooKeeper-era keys
/// (LeaderAndIsr, StopReplica, UpdateMetadata, ControlledShutdown) are never served, so never advertised.</item>
/// <item>v3+ (KIP-511): records client_software_name/version on the connection; names that break Kafka's pattern
/// get INVALID_REQUEST, as Kafka's <c>ApiVersionsRequest.isValid</c>.</item>
/// <item>A version above 4 is answered in v0 with UNSUPPORTED_VERSION and, as Kafka's
/// <c>ApiVersionsRequest.getErrorResponse</c> does, only the ApiVersions range, so the client retries at our highest.</item>
/// <item>The response header is always v0 (<see cref="ApiMessages.ResponseHeaderVersion"/>).</item>
/// <item>v3+ (KIP-584): supported features (<see cref="FeatureControlManager.Supported"/>), and the finalized levels
/// of the current metadata image with its offset as finalized_features_epoch. Below v4, features whose supported
/// range starts at 0 are left out, since older clients reject a 0 minimum (KAFKA-17011, KAFKA-17492).</item>
/// </list>
/// </summary>
public sealed partial class ApiVersionsHandler : ApiHandler<ApiVersionsRequest, ApiVersionsResponse>
{
    private readonly List<ApiVersionsResponse.ApiVersion> _advertised;
    private readonly ILogger _logger;
    private readonly MetadataCache _metadata;

    /// <param name="otherHandlers">Every other served handler; this one adds itself.</param>
    /// <param name="metadata">The image whose finalized feature levels are reported.</param>
    public ApiVersionsHandler(IEnumerable<IApiHandler> otherHandlers, MetadataCache metadata, ILoggerFactory loggerFactory)
    {
        _metadata = metadata;
        _logger = loggerFactory.CreateLogger("Samsa.Requests");
        _advertised = otherHandlers.Append(this)
            .OrderBy(h => h.ApiKey)
            .Select(h => new ApiVersionsResponse.ApiVersion { ApiKey = (short)h.ApiKey, MinVersion = h.MinVersion, MaxVersion = h.MaxVersion })
            .ToList();
    }

    public override ApiKey ApiKey => ApiKey.ApiVersions;

    public override short MinVersion => 0;

    public override short MaxVersion => 4;

    [GeneratedRegex("^[a-zA-Z0-9](?:[a-zA-Z0-9\\-.]*[a-zA-Z0-9])?$")]
    private static partial Regex SoftwareNameOrVersion();

    protected override ValueTask<ApiVersionsResponse?> HandleAsync(RequestContext context, ApiVersionsRequest request, CancellationToken cancellationToken)
    {
        if (context.ApiVersion >= 3)
        {
            if (!SoftwareNameOrVersion().IsMatch(request.ClientSoftwareName) || !SoftwareNameOrVersion().IsMatch(request.ClientSoftwareVersion))
            {
                return ValueTask.FromResult<ApiVersionsResponse?>(ErrorResponse(context, request, ErrorCode.InvalidRequest));
            }
            context.Connection.ClientSoftwareName = request.ClientSoftwareName;
            context.Connection.ClientSoftwareVersion = request.ClientSoftwareVersion;
            RequestLog.ClientSoftware(_logger, context.Connection.ConnectionId, request.ClientSoftwareName, request.ClientSoftwareVersion);
        }
        var response = new ApiVersionsResponse { ErrorCode = (short)ErrorCode.None, ApiKeys = Advertised() };
        if (context.ApiVersion >= 3)
        {
            AddFeatures(response, context.ApiVersion);
        }
        return ValueTask.FromResult<ApiVersionsResponse?>(response);
    }

    private void AddFeatures(ApiVersionsResponse response, short version)
    {
        foreach (var (name, range) in FeatureControlManager.Supported)
        {
            if (version < 4 && range.Min == 0)
            {
                continue;
            }
            response.SupportedFeatures.Add(new ApiVersionsResponse.SupportedFeatureKey { Name = name, MinVersion = range.Min, MaxVersion = range.Max });
        }
        var image = _metadata.Current;
        response.FinalizedFeaturesEpoch = image.Offset;
        foreach (var (name, level) in image.Features)
        {
            response.FinalizedFeatures.Add(new ApiVersionsResponse.FinalizedFeatureKey { Name = name, MinVersionLevel = level, MaxVersionLevel = level });
        }
    }

    protected override ApiVersionsResponse ErrorResponse(RequestContext context, ApiVersionsRequest request, ErrorCode error) =>
        error == ErrorCode.UnsupportedVersion ? UnsupportedVersionResponse(this) : new ApiVersionsResponse { ErrorCode = (short)error };

    /// <summary>The v0 answer to an ApiVersions version we do not know: the error plus our ApiVersions range.</summary>
    internal static ApiVersionsResponse UnsupportedVersionResponse(IApiHandler apiVersions) => new()
    {
        ErrorCode = (short)ErrorCode.UnsupportedVersion,
        ApiKeys = [new ApiVersionsResponse.ApiVersion { ApiKey = (short)ApiKey.ApiVersions, MinVersion = apiVersions.MinVersion, MaxVersion = apiVersions.MaxVersion }],
    };

    // A fresh list per response: responses are mutable generated objects, so none is shared between requests.
    private List<ApiVersionsResponse.ApiVersion> Advertised() =>
        _advertised.Select(a => new ApiVersionsResponse.ApiVersion { ApiKey = a.ApiKey, MinVersion = a.MinVersion, MaxVersion = a.MaxVersion }).ToList();
}
