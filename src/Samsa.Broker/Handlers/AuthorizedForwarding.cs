using Samsa.Protocol;

namespace Samsa.Broker.Handlers;

/// <summary>
/// Kafka's way with a request to the controller whose items are authorized one by one (AlterConfigs,
/// IncrementalAlterConfigs, CreatePartitions): the refused items are answered here with their error, only the rest
/// is forwarded, and the two answers are merged.
/// </summary>
internal static class AuthorizedForwarding
{
    /// <param name="refusal">The item's authorization error, or null when it may go on.</param>
    /// <param name="forward">Sends the allowed items (never called with none).</param>
    /// <param name="refused">Adds an item's error to the response.</param>
    public static async Task<TResponse> ForwardAsync<TItem, TResponse>(IReadOnlyList<TItem> items, Func<TItem, ErrorCode?> refusal,
        Func<List<TItem>, Task<TResponse>> forward, Action<TResponse, TItem, ErrorCode> refused)
        where TResponse : new()
    {
        List<(TItem Item, ErrorCode Error)>? denied = null;
        var allowed = new List<TItem>(items.Count);
        foreach (var item in items)
        {
            if (refusal(item) is { } error)
            {
                (denied ??= []).Add((item, error));
            }
            else
            {
                allowed.Add(item);
            }
        }
        var response = allowed.Count > 0 || denied is null ? await forward(allowed) : new TResponse();
        foreach (var (item, error) in denied ?? [])
        {
            refused(response, item, error);
        }
        return response;
    }
}
