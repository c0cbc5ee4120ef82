using System.Diagnostics;
using Samsa.Interop.Tests.Infrastructure;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Xunit.Abstractions;

namespace Samsa.Interop.Tests;

/// <summary>
/// A full disk under the real server process (issue 12), on a small tmpfs mounted for the test. With one log dir
/// Kafka would take the dir offline and halt the broker; Samsa refuses writes with KAFKA_STORAGE_ERROR (logged at
/// most once per interval), keeps every acknowledged record, and takes writes again once space returns, including
/// the <c>__consumer_offsets</c> partitions that could not even be created while the disk was full.
/// </summary>
public sealed class DiskFullTests(ITestOutputHelper output)
{
    private const int MountBytes = 48 * 1024 * 1024;

    [Fact]
    public async Task DiskFull_RefusesWritesWithKafkaStorageError_KeepsAckedData_AndRecoversWhenSpaceReturns()
    {
        var root = Directory.CreateTempSubdirectory("samsa-diskfull-").FullName;
        var mount = Path.Combine(root, "disk");
        Directory.CreateDirectory(mount);
        var mounted = await ExternalProcess.RunAsync("mount", ["-t", "tmpfs", "-o", $"size={MountBytes}", "tmpfs", mount], TimeSpan.FromSeconds(10));
        Assert.True(mounted.ExitCode == 0, $"this test mounts a tmpfs and needs root: {mounted}");
        try
        {
            await RunAsync(root, mount);
        }
        finally
        {
            await ExternalProcess.RunAsync("umount", ["-l", mount], TimeSpan.FromSeconds(10));
            Directory.Delete(root, recursive: true);
        }
    }

    private async Task RunAsync(string root, string mount)
    {
        var config = new Dictionary<string, string>
        {
            ["log.dirs"] = mount,
            ["log.segment.bytes"] = "1048576",
            // Small preallocated indexes: on tmpfs they are sparse, but every page written counts.
            ["log.index.size.max.bytes"] = "65536",
        };
        var broker = await BrokerProcess.StartAsync(config, reuseDirectory: root);
        broker.DeleteOnDispose = false;
        await using var running = broker;
        try
        {
            await TopicAdmin.CreateAsync(broker.Port, "full", 1);
            using var connection = await RawKafkaConnection.ConnectAsync(broker.Port);
            var acked = new List<(long Offset, string Value)>();
            for (var i = 0; i < 5; i++)
            {
                var value = Value(i);
                var (error, offset) = await ProduceAsync(connection, "full", value);
                Assert.Equal(ErrorCode.None, error);
                acked.Add((offset, value));
            }

            // Fill the disk, leaving a little room, then produce until the broker refuses.
            var filler = Path.Combine(mount, "filler");
            FillUntilFull(filler, reserveBytes: 1024 * 1024);
            var refused = 0;
            var firstRefusal = -1;
            for (var i = 5; i < 500 && refused < 20; i++)
            {
                var value = Value(i);
                var (error, offset) = await ProduceAsync(connection, "full", value);
                if (error == ErrorCode.None)
                {
                    Assert.Equal(0, refused);
                    acked.Add((offset, value));
                    continue;
                }
                Assert.Equal(ErrorCode.KafkaStorageError, error);
                firstRefusal = firstRefusal < 0 ? i : firstRefusal;
                refused++;
            }
            output.WriteLine($"{acked.Count} batches acked, then {refused} refused with KAFKA_STORAGE_ERROR");
            Assert.Equal(20, refused);

            // The first FindCoordinator creates __consumer_offsets while there is no space for its logs: the group
            // cannot be served yet, and nothing polls for it in a loop meanwhile.
            var (coordinatorError, _) = await CommitAsync(connection, "full-group", 3);
            Assert.NotEqual(ErrorCode.None, coordinatorError);
            var newTopicCreated = await CreateTopicAsync(connection, "born-full");
            output.WriteLine($"CreateTopics while full: {(newTopicCreated ? "created" : "refused")}");

            // Acknowledged data is all there while the disk is full, and reads are served.
            Assert.Equal(acked, await ReadAllAsync(connection, "full"));

            // Space returns: writes, the group and the topic created meanwhile come back without a restart.
            File.Delete(filler);
            var recovered = Stopwatch.StartNew();
            var (again, offsetAfter) = await ProduceAsync(connection, "full", Value(1000));
            Assert.Equal(ErrorCode.None, again);
            acked.Add((offsetAfter, Value(1000)));
            ErrorCode commit;
            do
            {
                await Task.Delay(200);
                (commit, _) = await CommitAsync(connection, "full-group", 3);
            }
            while (commit != ErrorCode.None && recovered.Elapsed < TimeSpan.FromSeconds(45));
            Assert.Equal(ErrorCode.None, commit);
            output.WriteLine($"group committing again {recovered.ElapsedMilliseconds} ms after space returned");
            Assert.Equal(3, await FetchCommittedAsync(connection, "full-group"));
            if (newTopicCreated)
            {
                ErrorCode produced;
                do
                {
                    await Task.Delay(200);
                    (produced, _) = await ProduceAsync(connection, "born-full", "hello");
                }
                while (produced != ErrorCode.None && recovered.Elapsed < TimeSpan.FromSeconds(45));
                Assert.Equal(ErrorCode.None, produced);
            }
            Assert.Equal(acked, await ReadAllAsync(connection, "full"));

            // One line per interval, never a stack trace per failed request.
            var log = broker.Output;
            var storageLines = log.Split('\n').Count(l => l.Contains("KAFKA_STORAGE_ERROR", StringComparison.Ordinal));
            output.WriteLine($"{storageLines} KAFKA_STORAGE_ERROR lines for {refused} refusals; warnings and errors logged:");
            output.WriteLine(string.Join('\n', log.Split('\n').Where(l => l.Contains("warn", StringComparison.OrdinalIgnoreCase) || l.Contains("fail", StringComparison.OrdinalIgnoreCase))));
            Assert.InRange(storageLines, 1, 3);
            Assert.DoesNotContain(log.Split('\n'), l => l.TrimStart().StartsWith("at Samsa", StringComparison.Ordinal));
            Assert.Equal(0, await broker.StopAsync());
        }
        catch
        {
            output.WriteLine(broker.Output);
            throw;
        }
    }

    private static string Value(int i) => $"v{i:D5}-" + new string('d', 64 * 1024);

    /// <summary>Writes a file until the file system is full, then gives back <paramref name="reserveBytes"/>.</summary>
    private static void FillUntilFull(string path, long reserveBytes)
    {
        var chunk = new byte[256 * 1024];
        using (var file = new FileStream(path, FileMode.Create))
        {
            try
            {
                while (true)
                {
                    file.Write(chunk);
                }
            }
            catch (IOException)
            {
                // ENOSPC: full.
            }
            file.SetLength(Math.Max(0, file.Length - reserveBytes));
        }
    }

    private static Task<(ErrorCode Error, long BaseOffset)> ProduceAsync(RawKafkaConnection connection, string topic, string value) =>
        RawRecords.ProduceAsync(connection, topic, 0, [value]);

    private static async Task<bool> CreateTopicAsync(RawKafkaConnection connection, string name)
    {
        var response = await connection.RequestAsync<CreateTopicsResponse>(new CreateTopicsRequest
        {
            timeoutMs = 10000,
            Topics = [new() { Name = name, NumPartitions = 1, ReplicationFactor = 1 }],
        }, 7);
        return response.Topics[0].ErrorCode == 0;
    }

    /// <summary>A simple consumer's commit (no generation), after finding the coordinator.</summary>
    private static async Task<(ErrorCode Error, int Attempts)> CommitAsync(RawKafkaConnection connection, string group, long offset)
    {
        var find = await connection.RequestAsync<FindCoordinatorResponse>(new FindCoordinatorRequest { KeyType = 0, CoordinatorKeys = [group] }, 4);
        var coordinator = (ErrorCode)find.Coordinators[0].ErrorCode;
        if (coordinator != ErrorCode.None)
        {
            return (coordinator, 1);
        }
        var response = await connection.RequestAsync<OffsetCommitResponse>(new OffsetCommitRequest
        {
            GroupId = group,
            GenerationIdOrMemberEpoch = -1,
            MemberId = "",
            Topics = [new() { Name = "full", Partitions = [new() { PartitionIndex = 0, CommittedOffset = offset }] }],
        }, 8);
        return ((ErrorCode)response.Topics[0].Partitions[0].ErrorCode, 1);
    }

    private static async Task<long> FetchCommittedAsync(RawKafkaConnection connection, string group)
    {
        var response = await connection.RequestAsync<OffsetFetchResponse>(new OffsetFetchRequest
        {
            Groups = [new() { GroupId = group, Topics = [new() { Name = "full", PartitionIndexes = [0] }] }],
        }, 8);
        return response.Groups[0].Topics[0].Partitions[0].CommittedOffset;
    }

    /// <summary>Every record of partition 0; a batch with a bad CRC fails the test.</summary>
    private static async Task<List<(long Offset, string Value)>> ReadAllAsync(RawKafkaConnection connection, string topic)
    {
        var records = await RawRecords.ReadAllAsync(connection, topic, 0);
        Assert.All(records, r => Assert.True(r.CrcValid, $"the batch holding offset {r.Offset} has a bad CRC"));
        return [.. records.Select(r => (r.Offset, r.Value!))];
    }
}
