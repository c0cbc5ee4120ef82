using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Tests.Quotas;

/// <summary>Quota tests' wire helpers: set a quota with AlterClientQuotas, send a request under a chosen client id.</summary>
internal static class QuotaWire
{
    /// <summary>AlterClientQuotas v1 for one entity (type "client-id", "user" or "ip"; name null for the default).</summary>
    public static Task SetQuotaAsync(TestBroker broker, string entityType, string? entityName, string key, double value) =>
        AlterQuotaAsync(broker, entityType, entityName, key, value);

    /// <summary>
    /// AlterClientQuotas v1 for one entity: sets <paramref name="key"/> to <paramref name="value"/>, or removes it when
    /// null; sent from <paramref name="source"/> (by default 127.0.0.1).
    /// </summary>
    public static async Task AlterQuotaAsync(TestBroker broker, string entityType, string? entityName, string key, double? value, System.Net.IPAddress? source = null)
    {
        await using var client = source is null ? await broker.ConnectAsync() : await broker.ConnectFromAsync(source);
        var request = new AlterClientQuotasRequest
        {
            Entries =
            [
                new AlterClientQuotasRequest.EntryData
                {
                    Entity = [new AlterClientQuotasRequest.EntityData { EntityType = entityType, EntityName = entityName }],
                    Ops = [new AlterClientQuotasRequest.OpData { Key = key, Value = value ?? 0, Remove = value is null }],
                },
            ],
        };
        var (_, response) = await client.RequestAsync<AlterClientQuotasResponse>(request, 1);
        Assert.All(response.Entries, e => Assert.Equal(0, e.ErrorCode));
    }

    /// <summary>Sends <paramref name="request"/> as <paramref name="clientId"/> and reads its response at the same version.</summary>
    public static async Task<TResponse> SendAsync<TResponse>(TestClient client, IApiMessage request, short version, string clientId, int correlationId = 1)
        where TResponse : IApiMessage, new()
    {
        await client.SendRawAsync(TestClient.EncodeRequest(request, version, correlationId, clientId));
        var frame = await client.ReadFrameAsync() ?? throw new IOException("Broker closed the connection instead of answering");
        return TestClient.ParseResponse<TResponse>(frame, version, ApiMessages.ResponseHeaderVersion(request.ApiKey, version)).Body;
    }
}
