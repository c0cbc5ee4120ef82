using Samsa.Protocol.Records;

namespace Samsa.Storage.Tests;

public class RobustnessTests
{
    /// <summary>Garbage segment and index files never crash the loader: the log is cut back to its valid prefix.</summary>
    [Fact]
    public void Open_GarbageFiles_RecoversWithoutThrowing()
    {
        var random = new Random(5);
        for (var round = 0; round < 30; round++)
        {
            using var dir = new TempDir();
            var partitionDir = Path.Combine(dir.Path, "t-0");
            Directory.CreateDirectory(partitionDir);
            var valid = round % 2 == 0 ? Batches.Make(3, 50) : [];
            var garbage = new byte[random.Next(0, 5000)];
            random.NextBytes(garbage);
            if (round % 3 == 0 && garbage.Length > 12)
            {
                // A huge claimed batch length must be bounded by the file, not allocated.
                garbage[8] = 0x7f;
            }
            File.WriteAllBytes(Path.Combine(partitionDir, "00000000000000000000.log"), [.. valid, .. garbage]);
            var index = new byte[random.Next(0, 100)];
            random.NextBytes(index);
            File.WriteAllBytes(Path.Combine(partitionDir, "00000000000000000000.index"), index);
            File.WriteAllBytes(Path.Combine(partitionDir, "00000000000000000000.timeindex"), index);
            using var log = Batches.Open(dir.Path);
            Assert.True(log.LogEndOffset is 0 or 3);
            LogInvariants.Check(log);
            Assert.True(log.ActiveSegment.Size <= valid.Length);
        }
    }

    /// <summary>Appending and reading uncompressed batches allocates the same small amount whatever the record count.</summary>
    [Fact]
    public void HotPaths_AllocateNothingPerRecord()
    {
        using var dir = new TempDir();
        using var log = Batches.Open(dir.Path);
        var small = Enumerable.Range(0, 50).Select(i => Batches.Make(1, 100, seed: i)).ToArray();
        var large = Enumerable.Range(0, 50).Select(i => Batches.Make(200, 100, seed: i)).ToArray();
        log.Append(Batches.Make(1), 0);   // warm up lazy paths
        log.Read(0, 1000, FetchIsolation.LogEnd);

        long Measure(byte[][] batches)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            foreach (var batch in batches)
            {
                var info = log.Append(batch, 0);
                log.Read(info.FirstOffset, 1 << 20, FetchIsolation.LogEnd);
            }
            return (GC.GetAllocatedBytesForCurrentThread() - before) / batches.Length;
        }

        Measure(small);
        var perSmall = Measure(small);
        var perLarge = Measure(large);
        Assert.True(perLarge <= perSmall + 256, $"{perLarge} bytes per 200-record append+read vs {perSmall} per 1-record");
        Assert.True(perLarge < 2048, $"{perLarge} bytes allocated per append+read");
    }

    /// <summary>Layering: storage sees only the protocol room below it.</summary>
    [Fact]
    public void StorageAssembly_ReferencesNoHigherRoom()
    {
        var references = typeof(PartitionLog).Assembly.GetReferencedAssemblies().Select(a => a.Name!).Where(n => n.StartsWith("Samsa", StringComparison.Ordinal));
        Assert.Equal(["Samsa.Protocol"], references);
        Assert.DoesNotContain(typeof(RecordBatch).Assembly.GetReferencedAssemblies(), a => a.Name == "Samsa.Storage");
    }
}
