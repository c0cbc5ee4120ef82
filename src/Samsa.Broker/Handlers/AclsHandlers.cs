using Samsa.Broker.Security;
using Samsa.Metadata.Controller;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Handlers;

/// <summary>
/// DescribeAcls (key 29), versions 1-3, on the broker and controller listeners (Kafka's <c>AclApis</c>): the ACL
/// bindings of the metadata image that match the request's filter, grouped by resource pattern.
/// <list type="bullet">
/// <item>v1 adds pattern types (KIP-290); v2 is flexible; v3 adds the USER resource type (KIP-373). v0, literal
/// names only, was removed in Kafka 4.0 (KIP-896).</item>
/// <item>The requester needs DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED); with no authorizer configured the
/// answer is SECURITY_DISABLED, as Kafka's.</item>
/// </list>
/// </summary>
public sealed class DescribeAclsHandler(MetadataCache metadata) : ApiHandler<DescribeAclsRequest, DescribeAclsResponse>
{
    public override ApiKey ApiKey => ApiKey.DescribeAcls;

    public override short MinVersion => 1;

    public override short MaxVersion => 3;

    protected override ValueTask<DescribeAclsResponse?> HandleAsync(RequestContext context, DescribeAclsRequest request, CancellationToken cancellationToken)
    {
        if (!context.AuthorizeCluster(AclOperation.Describe))
        {
            return ValueTask.FromResult<DescribeAclsResponse?>(ErrorResponse(context, request, ErrorCode.ClusterAuthorizationFailed));
        }
        if (!context.HasAuthorizer)
        {
            return ValueTask.FromResult<DescribeAclsResponse?>(new DescribeAclsResponse { ErrorCode = (short)ErrorCode.SecurityDisabled, ErrorMessage = AclsHandlers.NoAuthorizer });
        }
        var filter = new AclBindingFilter(request.ResourceTypeFilter, request.ResourceNameFilter, request.PatternTypeFilter,
            request.PrincipalFilter, request.HostFilter, request.Operation, request.PermissionType);
        if (filter.IsPatternUnknown || filter.IsEntryUnknown)
        {
            // Kafka's DescribeAclsRequest.validate refuses a filter it cannot read.
            return ValueTask.FromResult<DescribeAclsResponse?>(new DescribeAclsResponse { ErrorCode = (short)ErrorCode.InvalidRequest, ErrorMessage = "DescribeAclsRequest contains UNKNOWN elements" });
        }
        var response = new DescribeAclsResponse { ErrorMessage = null };
        var matching = metadata.Current.Acls.Values
            .Where(filter.Matches)
            .GroupBy(acl => (acl.ResourceType, acl.ResourceName, acl.PatternType))
            .OrderBy(g => g.Key.ResourceType).ThenBy(g => g.Key.ResourceName, StringComparer.Ordinal).ThenBy(g => g.Key.PatternType);
        foreach (var resource in matching)
        {
            response.Resources.Add(new DescribeAclsResponse.DescribeAclsResource
            {
                ResourceType = resource.Key.ResourceType,
                ResourceName = resource.Key.ResourceName,
                PatternType = resource.Key.PatternType,
                Acls = [.. resource.Select(acl => new DescribeAclsResponse.AclDescription
                {
                    Principal = acl.Principal,
                    Host = acl.Host,
                    Operation = acl.Operation,
                    PermissionType = acl.PermissionType,
                })],
            });
        }
        return ValueTask.FromResult<DescribeAclsResponse?>(response);
    }

    protected override DescribeAclsResponse ErrorResponse(RequestContext context, DescribeAclsRequest request, ErrorCode error) =>
        new() { ErrorCode = (short)error, ErrorMessage = null };
}

/// <summary>
/// CreateAcls (key 30), versions 1-3, on the broker and controller listeners: the bindings are created by the
/// active controller (<see cref="IController.CreateAclsAsync"/>, forwarded from a broker-only node) and are in
/// the image once the answer goes out. v1 adds pattern types, v2 is flexible, v3 adds USER resources.
/// The requester needs ALTER on the cluster; with no authorizer every creation gets SECURITY_DISABLED.
/// </summary>
public sealed class CreateAclsHandler(IController controller) : ApiHandler<CreateAclsRequest, CreateAclsResponse>
{
    public override ApiKey ApiKey => ApiKey.CreateAcls;

    public override short MinVersion => 1;

    public override short MaxVersion => 3;

    protected override AclOperation? RequiredClusterOperation => AclOperation.Alter;

    protected override async ValueTask<CreateAclsResponse?> HandleAsync(RequestContext context, CreateAclsRequest request, CancellationToken cancellationToken)
    {
        if (!context.HasAuthorizer)
        {
            return Answer(request, ErrorCode.SecurityDisabled, AclsHandlers.NoAuthorizer);
        }
        return await controller.CreateAclsAsync(request, cancellationToken);
    }

    protected override CreateAclsResponse ErrorResponse(RequestContext context, CreateAclsRequest request, ErrorCode error) => Answer(request, error, null);

    private static CreateAclsResponse Answer(CreateAclsRequest request, ErrorCode error, string? message) => new()
    {
        Results = [.. request.Creations.Select(_ => new CreateAclsResponse.AclCreationResult { ErrorCode = (short)error, ErrorMessage = message })],
    };
}

/// <summary>
/// DeleteAcls (key 31), versions 1-3, on the broker and controller listeners: the bindings each filter matches
/// are removed by the active controller (<see cref="IController.DeleteAclsAsync"/>) and listed per filter.
/// The requester needs ALTER on the cluster; with no authorizer every filter gets SECURITY_DISABLED.
/// </summary>
public sealed class DeleteAclsHandler(IController controller) : ApiHandler<DeleteAclsRequest, DeleteAclsResponse>
{
    public override ApiKey ApiKey => ApiKey.DeleteAcls;

    public override short MinVersion => 1;

    public override short MaxVersion => 3;

    protected override AclOperation? RequiredClusterOperation => AclOperation.Alter;

    protected override async ValueTask<DeleteAclsResponse?> HandleAsync(RequestContext context, DeleteAclsRequest request, CancellationToken cancellationToken)
    {
        if (!context.HasAuthorizer)
        {
            return Answer(request, ErrorCode.SecurityDisabled, AclsHandlers.NoAuthorizer);
        }
        return await controller.DeleteAclsAsync(request, cancellationToken);
    }

    protected override DeleteAclsResponse ErrorResponse(RequestContext context, DeleteAclsRequest request, ErrorCode error) => Answer(request, error, null);

    private static DeleteAclsResponse Answer(DeleteAclsRequest request, ErrorCode error, string? message) => new()
    {
        FilterResults = [.. request.Filters.Select(_ => new DeleteAclsResponse.DeleteAclsFilterResult { ErrorCode = (short)error, ErrorMessage = message })],
    };
}

internal static class AclsHandlers
{
    /// <summary>Kafka's SecurityDisabledException message.</summary>
    public const string NoAuthorizer = "No Authorizer is configured.";
}
