using System.Globalization;
using Samsa.Broker.Config;
using Samsa.Broker.Security;
using Samsa.Metadata;
using Samsa.Metadata.Controller;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Handlers;

/// <summary>
/// DescribeConfigs (key 32), versions 0-4, for TOPIC (2), BROKER (4) and GROUP (32) resources.
/// <list type="bullet">
/// <item>Every topic config with its effective value and source (dynamic topic, dynamic broker, dynamic default,
/// static broker, default); v0 reports is_default instead of the source.</item>
/// <item>Broker resources: this node's id (every config, read_only where Kafka cannot change it at runtime) or ""
/// (only the configs set as the cluster-wide default); passwords are sensitive with null values.</item>
/// <item>Group resources (KIP-848): every group config of any group id, GROUP_CONFIG when set, else the broker's value.</item>
/// <item>Synonyms when asked (v1+), the config type (v3+), documentation always null.</item>
/// <item>Unknown topic: UNKNOWN_TOPIC_OR_PARTITION; another broker's id, an empty group id or another resource type: INVALID_REQUEST.</item>
/// </list>
/// </summary>
public sealed class DescribeConfigsHandler(MetadataCache metadata, ConfigDescriber describer, int nodeId) : ApiHandler<DescribeConfigsRequest, DescribeConfigsResponse>
{
    public override ApiKey ApiKey => ApiKey.DescribeConfigs;

    public override short MinVersion => 0;

    public override short MaxVersion => 4;

    protected override ValueTask<DescribeConfigsResponse?> HandleAsync(RequestContext context, DescribeConfigsRequest request, CancellationToken cancellationToken)
    {
        var image = metadata.Current;
        var response = new DescribeConfigsResponse();
        foreach (var resource in request.Resources)
        {
            var result = new DescribeConfigsResponse.DescribeConfigsResult { ResourceType = resource.ResourceType, ResourceName = resource.ResourceName, ErrorMessage = null };
            response.Results.Add(result);
            IEnumerable<ConfigDescriber.Entry>? entries = null;
            if (ConfigAuthorization.Refusal(context, AclOperation.DescribeConfigs, resource.ResourceType, resource.ResourceName) is { } refused)
            {
                result.ErrorCode = (short)refused;
                continue;
            }
            switch ((ConfigResourceType)resource.ResourceType)
            {
                case ConfigResourceType.Topic when TopicName.Validate(resource.ResourceName) is { } invalid:
                    (result.ErrorCode, result.ErrorMessage) = ((short)ErrorCode.InvalidTopicException, invalid);
                    break;
                case ConfigResourceType.Topic when !image.Topics.ContainsKey(resource.ResourceName):
                    (result.ErrorCode, result.ErrorMessage) = ((short)ErrorCode.UnknownTopicOrPartition, $"The topic '{resource.ResourceName}' does not exist.");
                    break;
                case ConfigResourceType.Topic:
                    entries = describer.DescribeTopic(image, resource.ResourceName);
                    break;
                case ConfigResourceType.Broker when resource.ResourceName.Length > 0 && resource.ResourceName != nodeId.ToString(CultureInfo.InvariantCulture):
                    (result.ErrorCode, result.ErrorMessage) = ((short)ErrorCode.InvalidRequest,
                        $"Unexpected broker id, expected {nodeId} or empty string, but received {resource.ResourceName}");
                    break;
                case ConfigResourceType.Broker:
                    entries = describer.DescribeBroker(image, resource.ResourceName);
                    break;
                case ConfigResourceType.Group when resource.ResourceName.Length == 0:
                    (result.ErrorCode, result.ErrorMessage) = ((short)ErrorCode.InvalidRequest, "Group name must not be empty");
                    break;
                case ConfigResourceType.Group:
                    entries = describer.Groups.Describe(image, resource.ResourceName);
                    break;
                default:
                    (result.ErrorCode, result.ErrorMessage) = ((short)ErrorCode.InvalidRequest, $"Unsupported resource type {resource.ResourceType}");
                    break;
            }
            if (entries is null)
            {
                continue;
            }
            var keys = resource.ConfigurationKeys is { Count: > 0 } wanted ? wanted.ToHashSet(StringComparer.Ordinal) : null;
            foreach (var entry in entries)
            {
                if (keys is null || keys.Contains(entry.Name))
                {
                    result.Configs.Add(ConfigDescriber.ToResult(entry, context.ApiVersion, request.IncludeSynonyms));
                }
            }
        }
        return ValueTask.FromResult<DescribeConfigsResponse?>(response);
    }

    protected override DescribeConfigsResponse ErrorResponse(RequestContext context, DescribeConfigsRequest request, ErrorCode error) => new()
    {
        Results = request.Resources.Select(r => new DescribeConfigsResponse.DescribeConfigsResult
        {
            ErrorCode = (short)error,
            ErrorMessage = null,
            ResourceType = r.ResourceType,
            ResourceName = r.ResourceName,
        }).ToList(),
    };
}

/// <summary>
/// IncrementalAlterConfigs (key 44), versions 0-1: SET, DELETE, APPEND and SUBTRACT on topic configs, dynamic
/// broker configs (per broker, or the cluster default with an empty name) and group configs (KIP-848). Topic and
/// group values are validated against Kafka's type and range (INVALID_CONFIG naming the key); broker keys as
/// Kafka's <c>DynamicBrokerConfig</c> does — a read-only key, a per-broker key on the cluster default or a bad
/// value is INVALID_REQUEST with Kafka's message (<see cref="DynamicBrokerConfig.Validate"/>). Changes reach live
/// partition logs and groups as soon as they are committed.
/// </summary>
public sealed class IncrementalAlterConfigsHandler(IController controller) : ApiHandler<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>
{
    public override ApiKey ApiKey => ApiKey.IncrementalAlterConfigs;

    public override short MinVersion => 0;

    public override short MaxVersion => 1;

    protected override async ValueTask<IncrementalAlterConfigsResponse?> HandleAsync(RequestContext context, IncrementalAlterConfigsRequest request, CancellationToken cancellationToken) =>
        await AuthorizedForwarding.ForwardAsync(request.Resources, r => ConfigAuthorization.AlterRefusal(context, r.ResourceType, r.ResourceName),
            allowed => controller.IncrementalAlterConfigsAsync(new IncrementalAlterConfigsRequest { Resources = allowed, ValidateOnly = request.ValidateOnly }, cancellationToken),
            (response, r, error) => response.Responses.Add(new IncrementalAlterConfigsResponse.AlterConfigsResourceResponse
            {
                ErrorCode = (short)error,
                ErrorMessage = ErrorCodes.DefaultMessage(error),
                ResourceType = r.ResourceType,
                ResourceName = r.ResourceName,
            }));

    protected override IncrementalAlterConfigsResponse ErrorResponse(RequestContext context, IncrementalAlterConfigsRequest request, ErrorCode error) => new()
    {
        Responses = request.Resources.Select(r => new IncrementalAlterConfigsResponse.AlterConfigsResourceResponse
        {
            ErrorCode = (short)error,
            ErrorMessage = null,
            ResourceType = r.ResourceType,
            ResourceName = r.ResourceName,
        }).ToList(),
    };
}

/// <summary>
/// AlterConfigs (key 33), versions 0-2: the legacy call that replaces a resource's whole dynamic config set;
/// keys not named are removed. Validation as for IncrementalAlterConfigs.
/// </summary>
public sealed class AlterConfigsHandler(IController controller) : ApiHandler<AlterConfigsRequest, AlterConfigsResponse>
{
    public override ApiKey ApiKey => ApiKey.AlterConfigs;

    public override short MinVersion => 0;

    public override short MaxVersion => 2;

    protected override async ValueTask<AlterConfigsResponse?> HandleAsync(RequestContext context, AlterConfigsRequest request, CancellationToken cancellationToken) =>
        await AuthorizedForwarding.ForwardAsync(request.Resources, r => ConfigAuthorization.AlterRefusal(context, r.ResourceType, r.ResourceName),
            allowed => controller.AlterConfigsAsync(new AlterConfigsRequest { Resources = allowed, ValidateOnly = request.ValidateOnly }, cancellationToken),
            (response, r, error) => response.Responses.Add(new AlterConfigsResponse.AlterConfigsResourceResponse
            {
                ErrorCode = (short)error,
                ErrorMessage = ErrorCodes.DefaultMessage(error),
                ResourceType = r.ResourceType,
                ResourceName = r.ResourceName,
            }));

    protected override AlterConfigsResponse ErrorResponse(RequestContext context, AlterConfigsRequest request, ErrorCode error) => new()
    {
        Responses = request.Resources.Select(r => new AlterConfigsResponse.AlterConfigsResourceResponse
        {
            ErrorCode = (short)error,
            ErrorMessage = null,
            ResourceType = r.ResourceType,
            ResourceName = r.ResourceName,
        }).ToList(),
    };
}

/// <summary>
/// Kafka's config authorization: DESCRIBE_CONFIGS or ALTER_CONFIGS on the topic (TOPIC_AUTHORIZATION_FAILED), on
/// the group (GROUP_AUTHORIZATION_FAILED), and on the cluster for broker, broker-logger and client-metrics
/// resources (CLUSTER_AUTHORIZATION_FAILED).
/// </summary>
internal static class ConfigAuthorization
{
    public static ErrorCode? Refusal(RequestContext context, AclOperation operation, sbyte resourceType, string resourceName) => (ConfigResourceType)resourceType switch
    {
        ConfigResourceType.Topic => context.Authorize(operation, AclResourceType.Topic, resourceName) ? null : ErrorCode.TopicAuthorizationFailed,
        ConfigResourceType.Group => context.Authorize(operation, AclResourceType.Group, resourceName) ? null : ErrorCode.GroupAuthorizationFailed,
        ConfigResourceType.Broker or ConfigResourceType.BrokerLogger or ConfigResourceType.ClientMetrics =>
            context.AuthorizeCluster(operation) ? null : ErrorCode.ClusterAuthorizationFailed,
        _ => null,
    };

    /// <summary>ALTER_CONFIGS on the resource; null when allowed or no authorizer decides.</summary>
    public static ErrorCode? AlterRefusal(RequestContext context, sbyte resourceType, string resourceName) =>
        context.HasAuthorizer ? Refusal(context, AclOperation.AlterConfigs, resourceType, resourceName) : null;
}
