using System.Collections.Immutable;
using Samsa.Broker.Handlers;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Testing;

/// <summary>One request a broker received, as an interceptor sees it before the broker's handler does.</summary>
public sealed class InterceptedRequest
{
    internal InterceptedRequest(int brokerId, RequestContext context, IApiMessage request)
    {
        BrokerId = brokerId;
        Context = context;
        Request = request;
    }

    internal RequestContext Context { get; }

    /// <summary>The node that received it.</summary>
    public int BrokerId { get; }

    public ApiKey ApiKey => Context.ApiKey;

    public short ApiVersion => Context.ApiVersion;

    public int CorrelationId => Context.Header.CorrelationId;

    public string? ClientId => Context.Header.ClientId;

    /// <summary>Kafka's connection id (<c>local-remote-index</c>): requests of one client connection share it.</summary>
    public string ConnectionId => Context.Connection.ConnectionId;

    /// <summary>The parsed request body, the generated type for its API key (for Produce, a <see cref="ProduceRequest"/>).</summary>
    public IApiMessage Request { get; }

    /// <summary>The body as its generated type.</summary>
    public T Body<T>()
        where T : IApiMessage => (T)Request;

    /// <summary>The broker serves the request as usual.</summary>
    public Interception Continue() => Interception.Continue;

    /// <summary>The request is answered with its API's error response carrying <paramref name="error"/> (every partition or resource in it gets the error).</summary>
    public Interception Fail(ErrorCode error) => Interception.Fail(error);

    /// <summary>The request is answered with <paramref name="response"/>, which must be the same API's response type.</summary>
    public Interception Respond(IApiMessage response) => Interception.Respond(response);

    /// <summary>The broker closes the client's connection without answering.</summary>
    public Interception CloseConnection() => Interception.CloseConnection;
}

/// <summary>
/// One rule added by <see cref="SamsaCluster.Intercept(ApiKey, Func{InterceptedRequest, ValueTask{Interception}}, int?)"/>:
/// how many requests it has seen, and a way to remove it. Disposing it removes it.
/// </summary>
public sealed class RequestInterception : IDisposable
{
    private readonly Func<InterceptedRequest, ValueTask<Interception>> _handler;
    private readonly ClusterInterceptor _owner;
    private int _remaining;
    private int _seen;

    internal RequestInterception(ClusterInterceptor owner, ApiKey apiKey, Func<InterceptedRequest, ValueTask<Interception>> handler, int? times)
    {
        _owner = owner;
        ApiKey = apiKey;
        _handler = handler;
        _remaining = times ?? -1;
    }

    public ApiKey ApiKey { get; }

    /// <summary>Requests this rule has handled.</summary>
    public int Count => Volatile.Read(ref _seen);

    /// <summary>Completes when the rule has handled its first request (a test waits on it to know the fault happened).</summary>
    public Task FirstSeen => _firstSeen.Task;

    private readonly TaskCompletionSource _firstSeen = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Takes one use: false once a rule limited to some number of requests has had them all.</summary>
    internal bool TryTake()
    {
        while (true)
        {
            var remaining = Volatile.Read(ref _remaining);
            if (remaining == 0)
            {
                return false;
            }
            if (remaining < 0 || Interlocked.CompareExchange(ref _remaining, remaining - 1, remaining) == remaining)
            {
                return true;
            }
        }
    }

    internal async ValueTask<Interception> HandleAsync(InterceptedRequest request)
    {
        var decision = await _handler(request);
        Interlocked.Increment(ref _seen);
        _firstSeen.TrySetResult();
        return decision;
    }

    public void Dispose() => _owner.Remove(this);
}

/// <summary>
/// The one <see cref="IRequestInterceptor"/> each node's dispatcher gets: the rules in the order they were added, the
/// first of them for the request's key with a use left decides (kfake's <c>ControlKey</c>; a rule that answers
/// <see cref="Interception.Continue"/> still used its turn).
/// </summary>
internal sealed class ClusterInterceptor
{
    private ImmutableList<RequestInterception> _rules = [];

    public bool IsEmpty => Volatile.Read(ref _rules).IsEmpty;

    public RequestInterception Add(ApiKey apiKey, Func<InterceptedRequest, ValueTask<Interception>> handler, int? times)
    {
        var rule = new RequestInterception(this, apiKey, handler, times);
        ImmutableInterlocked.Update(ref _rules, rules => rules.Add(rule));
        return rule;
    }

    public void Remove(RequestInterception rule) => ImmutableInterlocked.Update(ref _rules, rules => rules.Remove(rule));

    public void Clear() => Volatile.Write(ref _rules, []);

    /// <summary>The dispatcher hook of node <paramref name="brokerId"/>.</summary>
    public IRequestInterceptor ForBroker(int brokerId) => new NodeHook(this, brokerId);

    private ValueTask<Interception> InterceptAsync(int brokerId, RequestContext context, IApiMessage request)
    {
        foreach (var rule in Volatile.Read(ref _rules))
        {
            if (rule.ApiKey == context.ApiKey && rule.TryTake())
            {
                return rule.HandleAsync(new InterceptedRequest(brokerId, context, request));
            }
        }
        return ValueTask.FromResult(Interception.Continue);
    }

    private sealed class NodeHook(ClusterInterceptor owner, int brokerId) : IRequestInterceptor
    {
        public ValueTask<Interception> InterceptAsync(RequestContext context, IApiMessage request, CancellationToken cancellationToken) =>
            owner.InterceptAsync(brokerId, context, request);
    }
}
