using Samsa.Protocol;

namespace Samsa.Broker.Handlers;

/// <summary>
/// A test hook the dispatcher consults before a request's handler (franz-go kfake's <c>ControlKey</c>): it may watch
/// the request, hold it, answer it with an error or a response of its own, or close the connection. Samsa.Testing
/// sets one; a production broker has none, and the dispatcher then pays one null check per request.
/// </summary>
public interface IRequestInterceptor
{
    /// <summary>
    /// Called with the parsed request after the connection-level checks (API key and version served, SASL stage), so
    /// an answer it chooses is one the client can read.
    /// </summary>
    ValueTask<Interception> InterceptAsync(RequestContext context, IApiMessage request, CancellationToken cancellationToken);
}

/// <summary>What an <see cref="IRequestInterceptor"/> decided for one request.</summary>
public readonly record struct Interception
{
    private Interception(InterceptionKind kind, ErrorCode error, IApiMessage? response)
    {
        Kind = kind;
        Error = error;
        Response = response;
    }

    public InterceptionKind Kind { get; }

    /// <summary>The error <see cref="InterceptionKind.Error"/> answers with.</summary>
    public ErrorCode Error { get; }

    /// <summary>The body <see cref="InterceptionKind.Respond"/> answers with.</summary>
    public IApiMessage? Response { get; }

    /// <summary>The handler serves the request as if nothing had looked at it.</summary>
    public static Interception Continue => default;

    /// <summary>The handler is skipped; the request is answered with its API's error response carrying <paramref name="error"/>.</summary>
    public static Interception Fail(ErrorCode error) => new(InterceptionKind.Error, error, null);

    /// <summary>The handler is skipped; the request is answered with <paramref name="response"/> (the same API's response type).</summary>
    public static Interception Respond(IApiMessage response) => new(InterceptionKind.Respond, ErrorCode.None, response);

    /// <summary>No answer: the broker closes the connection, as it does for a request it will not serve.</summary>
    public static Interception CloseConnection => new(InterceptionKind.CloseConnection, ErrorCode.None, null);
}

public enum InterceptionKind
{
    Continue,
    Error,
    Respond,
    CloseConnection,
}
