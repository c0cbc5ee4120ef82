using Samsa.Broker.Security;
using Samsa.Metadata.Controller;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Handlers;

/// <summary>
/// DescribeClientQuotas (key 48), versions 0-1 (KIP-546), answered from the broker's metadata image as Kafka's KRaft
/// brokers do (<c>ClientQuotasImage.describe</c>). Each filter component matches a type exactly (a name), its default
/// (null name) or any entity that has the type; <c>strict</c> also drops entities with types the filter does not
/// name. Needs DESCRIBE_CONFIGS on the CLUSTER.
/// </summary>
public sealed class DescribeClientQuotasHandler(MetadataCache metadata) : ApiHandler<DescribeClientQuotasRequest, DescribeClientQuotasResponse>
{
    private const sbyte MatchExact = 0;
    private const sbyte MatchDefault = 1;
    private const sbyte MatchSpecified = 2;

    public override ApiKey ApiKey => ApiKey.DescribeClientQuotas;

    public override short MinVersion => 0;

    public override short MaxVersion => 1;

    protected override AclOperation? RequiredClusterOperation => AclOperation.DescribeConfigs;

    protected override ValueTask<DescribeClientQuotasResponse?> HandleAsync(RequestContext context, DescribeClientQuotasRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult<DescribeClientQuotasResponse?>(Describe(metadata.Current, request));

    public static DescribeClientQuotasResponse Describe(MetadataImage image, DescribeClientQuotasRequest request)
    {
        // Type -> the exact name (null: the default), or absent from exact and present in any: any name.
        var exact = new Dictionary<string, string?>(StringComparer.Ordinal);
        var any = new HashSet<string>(StringComparer.Ordinal);
        foreach (var component in request.Components)
        {
            var type = component.EntityType;
            var refusal = type.Length == 0 ? (ErrorCode.InvalidRequest, "Invalid empty entity type.")
                : exact.ContainsKey(type) || any.Contains(type) ? (ErrorCode.InvalidRequest, $"Entity type {type} cannot appear more than once in the filter.")
                : type is not (ClientQuotaEntity.UserType or ClientQuotaEntity.ClientIdType or ClientQuotaEntity.IpType) ? (ErrorCode.UnsupportedVersion, $"Unsupported entity type {type}")
                : component.MatchType switch
                {
                    MatchExact when component.Match is null => (ErrorCode.InvalidRequest, "Request specified MATCH_TYPE_EXACT, but set match string to null."),
                    MatchDefault when component.Match is not null => (ErrorCode.InvalidRequest, "Request specified MATCH_TYPE_DEFAULT, but also specified a match string."),
                    MatchSpecified when component.Match is not null => (ErrorCode.InvalidRequest, "Request specified MATCH_TYPE_SPECIFIED, but also specified a match string."),
                    MatchExact or MatchDefault or MatchSpecified => default((ErrorCode, string)?),
                    _ => (ErrorCode.UnsupportedVersion, $"Unknown match type {component.MatchType}"),
                };
            if (refusal is { } r)
            {
                return Refused(r.Item1, r.Item2);
            }
            if (component.MatchType == MatchSpecified)
            {
                any.Add(type);
            }
            else
            {
                exact[type] = component.Match;
            }
        }
        var ip = exact.ContainsKey(ClientQuotaEntity.IpType) || any.Contains(ClientQuotaEntity.IpType);
        if (ip && exact.Count + any.Count > 1)
        {
            return Refused(ErrorCode.InvalidRequest,
                "Invalid entity filter component combination. IP filter component should not be used with user or clientId filter component.");
        }
        var response = new DescribeClientQuotasResponse { ErrorMessage = null };
        foreach (var (entity, values) in image.ClientQuotas)
        {
            if (Matches(entity, exact, any, request.Strict))
            {
                response.Entries!.Add(new DescribeClientQuotasResponse.EntryData
                {
                    Entity = [.. entity.Components().Select(c => new DescribeClientQuotasResponse.EntityData { EntityType = c.Type, EntityName = c.Name })],
                    Values = [.. values.Select(v => new DescribeClientQuotasResponse.ValueData { Key = v.Key, Value = v.Value })],
                });
            }
        }
        return response;
    }

    private static bool Matches(ClientQuotaEntity entity, Dictionary<string, string?> exact, HashSet<string> any, bool strict)
    {
        var components = entity.Components().ToList();
        if (strict && components.Count != exact.Count + any.Count)
        {
            return false;
        }
        foreach (var (type, name) in exact)
        {
            if (!components.Exists(c => c.Type == type && c.Name == name))
            {
                return false;
            }
        }
        foreach (var type in any)
        {
            if (!components.Exists(c => c.Type == type))
            {
                return false;
            }
        }
        return true;
    }

    private static DescribeClientQuotasResponse Refused(ErrorCode error, string? message) =>
        new() { ErrorCode = (short)error, ErrorMessage = message, Entries = null };

    protected override DescribeClientQuotasResponse ErrorResponse(RequestContext context, DescribeClientQuotasRequest request, ErrorCode error) =>
        Refused(error, ErrorCodes.DefaultMessage(error));
}

/// <summary>
/// AlterClientQuotas (key 49), versions 0-1 (KIP-546), on broker listeners (forwarded to the active controller, as
/// Kafka's KRaft brokers do) and on the controller listener (<see cref="ClientQuotaControlManager"/>). Needs
/// ALTER_CONFIGS on the CLUSTER, else every entity is answered CLUSTER_AUTHORIZATION_FAILED.
/// </summary>
public sealed class AlterClientQuotasHandler(IController controller) : ApiHandler<AlterClientQuotasRequest, AlterClientQuotasResponse>
{
    public override ApiKey ApiKey => ApiKey.AlterClientQuotas;

    public override short MinVersion => 0;

    public override short MaxVersion => 1;

    protected override AclOperation? RequiredClusterOperation => AclOperation.AlterConfigs;

    protected override async ValueTask<AlterClientQuotasResponse?> HandleAsync(RequestContext context, AlterClientQuotasRequest request, CancellationToken cancellationToken) =>
        await controller.AlterClientQuotasAsync(request, cancellationToken);

    /// <summary>Kafka's <c>AlterClientQuotasRequest.getErrorResponse</c>: every entity, with the error.</summary>
    protected override AlterClientQuotasResponse ErrorResponse(RequestContext context, AlterClientQuotasRequest request, ErrorCode error) => new()
    {
        Entries = [.. request.Entries.Select(e => new AlterClientQuotasResponse.EntryData
        {
            ErrorCode = (short)error,
            ErrorMessage = ErrorCodes.DefaultMessage(error),
            Entity = [.. e.Entity.Select(c => new AlterClientQuotasResponse.EntityData { EntityType = c.EntityType, EntityName = c.EntityName })],
        })],
    };
}
