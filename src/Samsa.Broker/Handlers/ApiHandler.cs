using Samsa.Broker.Network;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Handlers;

/// <summary>One parsed request on its way to a handler: the connection, the header and the version.</summary>
public sealed class RequestContext(ConnectionContext connection, RequestHeader header)
{
    public ConnectionContext Connection { get; } = connection;

    public RequestHeader Header { get; } = header;

    public ApiKey ApiKey => (ApiKey)Header.RequestApiKey;

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

    public async ValueTask<IApiMessage?> HandleAsync(RequestContext context, IApiMessage request, CancellationToken cancellationToken) =>
        await HandleAsync(context, (TRequest)request, cancellationToken);

    public IApiMessage ErrorResponse(RequestContext context, IApiMessage request, ErrorCode error) => ErrorResponse(context, (TRequest)request, error);

    protected abstract ValueTask<TResponse?> HandleAsync(RequestContext context, TRequest request, CancellationToken cancellationToken);

    protected abstract TResponse ErrorResponse(RequestContext context, TRequest request, ErrorCode error);
}
