using Confluent.Kafka;
using Samsa.Native;

namespace Samsa.Testing.Tests;

/// <summary>
/// Twenty test classes (xunit runs classes side by side; xunit.runner.json lifts the thread cap), each starting its
/// own cluster on ephemeral ports, producing and reading back with Confluent.Kafka, then showing its cluster left no
/// data directory and no listening port behind.
/// </summary>
public abstract class ParallelClusterTest
{
    private static int _live;
    private static int _peak;

    [Fact]
    public async Task OwnCluster_ProducesAndConsumes_AndLeavesNothingBehind()
    {
        CentOs8Librdkafka.EnsureLoaded();
        var topic = "orders-" + GetType().Name;
        string dataDirectory;
        int port;
        await using (var cluster = await SamsaCluster.StartAsync(o => o.Topic(topic, partitions: 3).BrokerConfig("auto.create.topics.enable", "false")))
        {
            var live = Interlocked.Increment(ref _live);
            InterlockedMax(ref _peak, live);
            try
            {
                dataDirectory = cluster.DataDirectory;
                port = cluster.Port(1);
                Assert.True(Directory.Exists(dataDirectory));

                using (var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers, LingerMs = 0 }).Build())
                {
                    for (var i = 0; i < 10; i++)
                    {
                        var delivered = await producer.ProduceAsync(new TopicPartition(topic, i % 3), new Message<string, string> { Key = $"k{i}", Value = $"v{i}" });
                        Assert.Equal(PersistenceStatus.Persisted, delivered.Status);
                        Assert.Equal(i / 3, delivered.Offset.Value);
                    }
                }

                using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
                {
                    BootstrapServers = cluster.BootstrapServers,
                    GroupId = "unused",
                    EnableAutoCommit = false,
                }).Build();
                consumer.Assign([.. Enumerable.Range(0, 3).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning))]);
                var values = new HashSet<string>();
                var deadline = DateTime.UtcNow.AddSeconds(20);
                while (values.Count < 10 && DateTime.UtcNow < deadline)
                {
                    if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { Message: { } message })
                    {
                        values.Add(message.Value);
                    }
                }
                Assert.Equal(Enumerable.Range(0, 10).Select(i => $"v{i}").ToHashSet(), values);
                consumer.Close();

                // Proof that these tests do run side by side: some other class's cluster was up at the same time.
                var waited = DateTime.UtcNow.AddSeconds(15);
                while (Volatile.Read(ref _peak) < 2 && DateTime.UtcNow < waited)
                {
                    await Task.Delay(20);
                }
                Assert.True(Volatile.Read(ref _peak) >= 2, "no two clusters were ever up at once");
            }
            finally
            {
                Interlocked.Decrement(ref _live);
            }
        }
        await Leftovers.AssertGoneAsync(dataDirectory, [port]);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current && Interlocked.CompareExchange(ref target, value, current) is var seen && seen != current)
        {
            current = seen;
        }
    }
}

#pragma warning disable SA1402, CA1711 // Twenty one-line classes, one per parallel xunit collection.
public sealed class Parallel01 : ParallelClusterTest;
public sealed class Parallel02 : ParallelClusterTest;
public sealed class Parallel03 : ParallelClusterTest;
public sealed class Parallel04 : ParallelClusterTest;
public sealed class Parallel05 : ParallelClusterTest;
public sealed class Parallel06 : ParallelClusterTest;
public sealed class Parallel07 : ParallelClusterTest;
public sealed class Parallel08 : ParallelClusterTest;
public sealed class Parallel09 : ParallelClusterTest;
public sealed class Parallel10 : ParallelClusterTest;
public sealed class Parallel11 : ParallelClusterTest;
public sealed class Parallel12 : ParallelClusterTest;
public sealed class Parallel13 : ParallelClusterTest;
public sealed class Parallel14 : ParallelClusterTest;
public sealed class Parallel15 : ParallelClusterTest;
public sealed class Parallel16 : ParallelClusterTest;
public sealed class Parallel17 : ParallelClusterTest;
public sealed class Parallel18 : ParallelClusterTest;
public sealed class Parallel19 : ParallelClusterTest;
public sealed class Parallel20 : ParallelClusterTest;
#pragma warning restore SA1402, CA1711
