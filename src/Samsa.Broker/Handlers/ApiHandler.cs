using Samsa.Broker.Network;
using Samsa.Broker.Security;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Handlers;

/// <summary>One parsed request on its way to a handler: the connection, the header and the version.</summary>
public sealed class RequestContext(ConnectionContext connection, RequestHeader header, IAuthorizer? authorizer = null)
{
    private AuthorizationSubject? _subject;

    /// <summary>
    /// The one authorization gate (Kafka's <c>AuthHelper.authorize</c>): every handler asks here before it acts on a
    /// resource. True when no authorizer is configured.
    /// </summary>
    public bool Authorize(AclOperation operation, AclResourceType resourceType, string resourceName, bool logIfDenied = true)
    {
        AuthorizationDecisions++;
        return authorizer is null || authorizer.Authorize(Subject, operation, resourceType, resourceName, logIfDenied);
    }

    /// <summary>Kafka's <c>authorizeByResourceType</c> through the same gate.</summary>
    public bool AuthorizeByResourceType(AclOperation operation, AclResourceType resourceType)
    {
        AuthorizationDecisions++;
        return authorizer is null || authorizer.AuthorizeByResourceType(Subject, operation, resourceType);
    }

    /// <summary>Kafka's <c>filterByAuthorized</c>: the names the requester may perform the operation on, in order.</summary>
    public List<string> FilterAuthorized(AclOperation operation, AclResourceType resourceType, IEnumerable<string> names)
    {
        var allowed = new List<string>();
        foreach (var name in names)
        {
            if (Authorize(operation, resourceType, name))
            {
                allowed.Add(name);
            }
        }
        return allowed;
    }

    /// <summary>The CLUSTER resource's one name.</summary>
    public const string ClusterResourceName = "kafka-cluster";

    /// <summary>Shorthand for an operation on the CLUSTER resource.</summary>
    public bool AuthorizeCluster(AclOperation operation) => Authorize(operation, AclResourceType.Cluster, ClusterResourceName);

    /// <summary>True when an authorizer decides (false: everything is allowed, and authorized-operations fields list all).</summary>
    public bool HasAuthorizer => authorizer is not null;

    /// <summary>How many decisions this request asked for: the dispatcher's check that no handler skips the gate.</summary>
    public int AuthorizationDecisions { get; private set; }

    public AuthorizationSubject Subject => _subject ??= new AuthorizationSubject(Connection.Principal, Connection.ClientAddress, Connection.ListenerName);

    public ConnectionContext Connection { get; } = connection;

    public RequestHeader Header { get; } = header;

    public ApiKey ApiKey => (ApiKey)Header.RequestApiKey;

    /// <summary>The request frame's size in bytes (header and body, no size prefix): Kafka's <c>request.sizeInBytes</c>.</summary>
    public int RequestSize { get; init; }

    /// <summary>
    /// Charges <paramref name="value"/> to this client's <paramref name="quota"/> (Kafka's
    /// <c>maybeRecordAndGetThrottleTimeMs</c>, keyed by principal name and client id); when over it, mutes the
    /// connection after the response (KIP-219) and returns the throttle time the response reports, else 0.
    /// </summary>
    public int RecordQuota(Samsa.Broker.Quotas.ClientQuotaManager? quota, double value)
    {
        if (quota is null)
        {
            return 0;
        }
        var throttleTimeMs = quota.RecordAndGetThrottleTimeMs(Connection.Principal.Name, Header.ClientId ?? "", value);
        if (throttleTimeMs > 0)
        {
            Connection.Throttle(throttleTimeMs, quota.Throttled);
        }
        return throttleTimeMs;
    }

    public short ApiVersion => Header.RequestApiVersion;

    private List<IDisposable>? _resources;

    /// <summary>Keeps <paramref name="resource"/> (a pooled buffer the response points into) alive until the response is written.</summary>
    public void Attach(IDisposable resource) => (_resources ??= []).Add(resource);

    /// <summary>Hands the attached resources to whoever writes the response; the context forgets them.</summary>
    internal List<IDisposable>? DetachResources()
    {
        var resources = _resources;
        _resources = null;
        return resources;
    }
}

/// <summary>
/// A handler for one API key. It declares the versions it serves, and ApiVersions advertises exactly these
/// declarations; the dispatcher never routes a version outside them.
/// </summary>
public interface IApiHandler
{
    ApiKey ApiKey { get; }

    short MinVersion { get; }

    short MaxVersion { get; }

    /// <summary>Handles a request; null means no response is sent (acks=0 produce).</summary>
    ValueTask<IApiMessage?> HandleAsync(RequestContext context, IApiMessage request, CancellationToken cancellationToken);

    /// <summary>
    /// The response that reports <paramref name="error"/> for the whole request (Kafka's
    /// <c>AbstractRequest.getErrorResponse</c>), used when handling fails with a request-level error.
    /// </summary>
    IApiMessage ErrorResponse(RequestContext context, IApiMessage request, ErrorCode error);
}

/// <summary>Typed base: casts once so each handler works with its generated request and response types.</summary>
public abstract class ApiHandler<TRequest, TResponse> : IApiHandler
    where TRequest : class, IApiMessage
    where TResponse : class, IApiMessage
{
    public abstract ApiKey ApiKey { get; }

    public abstract short MinVersion { get; }

    public abstract short MaxVersion { get; }

    /// <summary>
    /// The operation on the CLUSTER resource the whole request needs (Kafka's <c>authorizeClusterOperation</c>), or
    /// null when the handler authorizes per resource itself. When denied, the request is answered with
    /// <see cref="ErrorResponse(RequestContext, TRequest, ErrorCode)"/> and CLUSTER_AUTHORIZATION_FAILED.
    /// </summary>
    protected virtual Samsa.Broker.Security.AclOperation? RequiredClusterOperation => null;

    public async ValueTask<IApiMessage?> HandleAsync(RequestContext context, IApiMessage request, CancellationToken cancellationToken)
    {
        if (RequiredClusterOperation is { } operation && !context.AuthorizeCluster(operation))
        {
            return ErrorResponse(context, (TRequest)request, ErrorCode.ClusterAuthorizationFailed);
        }
        return await HandleAsync(context, (TRequest)request, cancellationToken);
    }

    public IApiMessage ErrorResponse(RequestContext context, IApiMessage request, ErrorCode error) => ErrorResponse(context, (TRequest)request, error);

    protected abstract ValueTask<TResponse?> HandleAsync(RequestContext context, TRequest request, CancellationToken cancellationToken);

    protected abstract TResponse ErrorResponse(RequestContext context, TRequest request, ErrorCode error);
}
