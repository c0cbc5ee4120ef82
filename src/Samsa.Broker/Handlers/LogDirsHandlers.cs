using Samsa.Broker.Log;
using Samsa.Broker.Security;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Storage;
using Samsa.Storage.Checkpoints;

namespace Samsa.Broker.Handlers;

/// <summary>
/// DescribeLogDirs (key 35), versions 1-4 (Kafka 4.0 dropped v0, KIP-896). One result per configured log dir, as
/// Kafka's <c>ReplicaManager.describeLogDirs</c>:
/// <list type="bullet">
/// <item>the dir's absolute path; its partitions grouped by topic, each with its size on disk (sum of segment
/// sizes), offset lag = max(high watermark - log end offset, 0) (always 0 for a current log), is_future_key false
/// (Samsa has no AlterReplicaLogDirs, so no future logs); topics none of whose partitions were asked for are left out.</item>
/// <item>null topics = every partition hosted here; otherwise only the named partitions.</item>
/// <item>v3+: top-level error_code (0: no authorizer, so never CLUSTER_AUTHORIZATION_FAILED).</item>
/// <item>v4 (KIP-827): total_bytes and usable_bytes of the volume holding the dir.</item>
/// <item>A dir that cannot be read (missing, unmounted) answers KAFKA_STORAGE_ERROR, as Kafka answers an offline dir.</item>
/// </list>
/// </summary>
public sealed class DescribeLogDirsHandler(IReadOnlyList<string> logDirs, LogMetadataPublisher logs) : ApiHandler<DescribeLogDirsRequest, DescribeLogDirsResponse>
{
    public override ApiKey ApiKey => ApiKey.DescribeLogDirs;

    public override short MinVersion => 1;

    public override short MaxVersion => 4;

    protected override AclOperation? RequiredClusterOperation => AclOperation.Describe;

    // statvfs and stat of each dir wait on the file system, so they run on the thread pool, not the socket event thread.
    protected override async ValueTask<DescribeLogDirsResponse?> HandleAsync(RequestContext context, DescribeLogDirsRequest request, CancellationToken cancellationToken) =>
        await Task.Run(() => Describe(request), cancellationToken);

    private DescribeLogDirsResponse Describe(DescribeLogDirsRequest request)
    {
        var wanted = request.Topics?.SelectMany(t => t.Partitions.Select(p => new TopicPartition(t.Topic, p))).ToHashSet();
        var byDir = logs.Manager.AllLogsByDir.ToLookup(e => Absolute(e.LogDir), e => e.Log);
        var response = new DescribeLogDirsResponse();
        foreach (var dir in logDirs.Select(Absolute).Distinct())
        {
            response.Results.Add(Describe(dir, byDir[dir].Where(log => wanted is null || wanted.Contains(log.TopicPartition))));
        }
        return response;
    }

    private static DescribeLogDirsResponse.DescribeLogDirsResult Describe(string dir, IEnumerable<PartitionLog> hosted)
    {
        long total, usable;
        try
        {
            if (!Directory.Exists(dir))
            {
                return new DescribeLogDirsResponse.DescribeLogDirsResult { LogDir = dir, ErrorCode = (short)ErrorCode.KafkaStorageError };
            }
            // statvfs of the dir: Java's FileStore.getTotalSpace / getUsableSpace (blocks available to this user).
            var drive = new DriveInfo(dir);
            total = drive.TotalSize;
            usable = drive.AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return new DescribeLogDirsResponse.DescribeLogDirsResult { LogDir = dir, ErrorCode = (short)ErrorCode.KafkaStorageError };
        }
        var result = new DescribeLogDirsResponse.DescribeLogDirsResult { LogDir = dir, TotalBytes = total, UsableBytes = usable };
        foreach (var topic in hosted.GroupBy(log => log.TopicPartition.Topic).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            result.Topics.Add(new DescribeLogDirsResponse.DescribeLogDirsTopic
            {
                Name = topic.Key,
                Partitions = topic.OrderBy(log => log.TopicPartition.Partition).Select(log => new DescribeLogDirsResponse.DescribeLogDirsPartition
                {
                    PartitionIndex = log.TopicPartition.Partition,
                    PartitionSize = log.Size,
                    OffsetLag = Math.Max(log.HighWatermark - log.LogEndOffset, 0),
                    IsFutureKey = false,
                }).ToList(),
            });
        }
        return result;
    }

    private static string Absolute(string dir) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir));

    protected override DescribeLogDirsResponse ErrorResponse(RequestContext context, DescribeLogDirsRequest request, ErrorCode error) =>
        new() { ErrorCode = (short)error };
}
