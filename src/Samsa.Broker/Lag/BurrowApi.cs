using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Samsa.Broker.Lag;

/// <summary>
/// The read side of Burrow's HTTP API (v3) over the lag monitor's last sample, so tools written for Burrow (dashboards,
/// burrow_exporter, alert scripts) read Samsa's own evaluation: <c>/v3/kafka</c> lists the cluster,
/// <c>/v3/kafka/{cluster}/consumer</c> the groups, <c>/v3/kafka/{cluster}/consumer/{group}/lag</c> a group's status
/// with its partitions, and <c>.../status</c> the same with only the partitions that are not OK, in Burrow's JSON.
/// </summary>
public static class BurrowApi
{
    /// <summary>Answers a request under <c>/v3/kafka</c> (the path base already taken off).</summary>
    public static async Task AnswerAsync(HttpContext context, string cluster, IReadOnlyDictionary<string, GroupLag>? lag)
    {
        var parts = (context.Request.Path.Value ?? "").Split('/', StringSplitOptions.RemoveEmptyEntries);
        lag ??= new Dictionary<string, GroupLag>();
        context.Response.ContentType = "application/json";
        using var buffer = new MemoryStream();
        await using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            switch (parts)
            {
                case []:
                    Header(json, false, "cluster list returned");
                    json.WriteStartArray("clusters");
                    json.WriteStringValue(cluster);
                    json.WriteEndArray();
                    break;
                case [var c, "consumer"] when c == cluster:
                    Header(json, false, "consumer list returned");
                    json.WriteStartArray("consumers");
                    foreach (var group in lag.Keys)
                    {
                        json.WriteStringValue(group);
                    }
                    json.WriteEndArray();
                    break;
                case [var c, "consumer", var group, var what] when c == cluster && what is "lag" or "status" && lag.TryGetValue(group, out var groupLag):
                    Header(json, false, "consumer status returned");
                    WriteStatus(json, cluster, groupLag, onlyBad: what == "status");
                    break;
                default:
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    Header(json, true, parts is [_, "consumer", _, ..] ? "cluster or consumer not found" : "cluster not found");
                    break;
            }
            json.WriteEndObject();
        }
        await context.Response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), context.RequestAborted);
    }

    /// <summary>Burrow's status names.</summary>
    public static string Name(LagStatus status) => status switch
    {
        LagStatus.NotFound => "NOTFOUND",
        LagStatus.Ok => "OK",
        LagStatus.Warn => "WARN",
        LagStatus.Err => "ERR",
        LagStatus.Stop => "STOP",
        LagStatus.Stall => "STALL",
        _ => "REWIND",
    };

    private static void Header(Utf8JsonWriter json, bool error, string message)
    {
        json.WriteBoolean("error", error);
        json.WriteString("message", message);
    }

    private static void WriteStatus(Utf8JsonWriter json, string cluster, GroupLag group, bool onlyBad)
    {
        json.WriteStartObject("status");
        json.WriteString("cluster", cluster);
        json.WriteString("group", group.GroupId);
        json.WriteString("status", Name(group.Status));
        json.WriteNumber("complete", group.Partitions.IsEmpty ? 0 : group.Partitions.Min(p => p.Complete));
        json.WriteStartArray("partitions");
        foreach (var partition in group.Partitions.Where(p => !onlyBad || p.Status != LagStatus.Ok))
        {
            WritePartition(json, partition);
        }
        json.WriteEndArray();
        json.WriteNumber("partition_count", group.Partitions.Length);
        if (group.Partitions.IsEmpty)
        {
            json.WriteNull("maxlag");
        }
        else
        {
            json.WritePropertyName("maxlag");
            WritePartition(json, group.Partitions.MaxBy(p => p.Lag)!);
        }
        json.WriteNumber("totallag", group.TotalLag);
        json.WriteEndObject();
    }

    private static void WritePartition(Utf8JsonWriter json, PartitionLag partition)
    {
        json.WriteStartObject();
        json.WriteString("topic", partition.Topic);
        json.WriteNumber("partition", partition.Partition);
        json.WriteString("status", Name(partition.Status));
        json.WriteNumber("current_lag", partition.Lag);
        json.WriteNumber("complete", partition.Complete);
        json.WriteStartObject("end");
        json.WriteNumber("offset", partition.CommittedOffset);
        json.WriteNumber("lag", partition.Lag);
        json.WriteEndObject();
        json.WriteEndObject();
    }
}
