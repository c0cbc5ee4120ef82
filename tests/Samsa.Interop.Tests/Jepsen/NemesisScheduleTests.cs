namespace Samsa.Interop.Tests.Jepsen;

/// <summary>The seeded nemesis schedule (no processes) and the lost-tail file surgery on a directory of fake segments.</summary>
public sealed class NemesisScheduleTests
{
    [Fact]
    public void Plan_SameSeed_SameSteps_OtherSeed_OtherSteps()
    {
        Assert.Equal(NemesisSchedule.Plan(7, NemesisSchedule.All, 50), NemesisSchedule.Plan(7, NemesisSchedule.All, 50));
        Assert.NotEqual(NemesisSchedule.Plan(7, NemesisSchedule.All, 50), NemesisSchedule.Plan(8, NemesisSchedule.All, 50));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Plan_EveryRound_HasEveryKindOnce(int seed)
    {
        var steps = NemesisSchedule.Plan(seed, NemesisSchedule.All, NemesisSchedule.All.Count * 4);
        foreach (var round in steps.Chunk(NemesisSchedule.All.Count))
        {
            Assert.Equal(NemesisSchedule.All.Order(), round.Select(s => s.Kind).Order());
        }
        Assert.All(steps, s => Assert.InRange(s.Duration, TimeSpan.Zero, TimeSpan.FromSeconds(15)));
        Assert.All(steps, s => Assert.InRange(s.CalmAfter, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(8)));
    }

    [Fact]
    public void LoseTail_CutsTheNewestSegmentOfEachPartition_AndRemovesItsIndexes()
    {
        var dir = Directory.CreateTempSubdirectory("samsa-losetail-").FullName;
        try
        {
            foreach (var partition in new[] { "t-0", "t-1", "other-0" })
            {
                var p = Directory.CreateDirectory(Path.Combine(dir, partition)).FullName;
                foreach (var segment in new[] { "00000000000000000000", "00000000000000000100" })
                {
                    File.WriteAllBytes(Path.Combine(p, segment + ".log"), new byte[1000]);
                    File.WriteAllBytes(Path.Combine(p, segment + ".index"), new byte[8]);
                    File.WriteAllBytes(Path.Combine(p, segment + ".timeindex"), new byte[12]);
                }
            }
            var cuts = Nemesis.LoseTail(dir, "t", 300);
            Assert.Equal(["t-0/00000000000000000100.log: 1000 -> 700 bytes", "t-1/00000000000000000100.log: 1000 -> 700 bytes"], cuts);
            foreach (var partition in new[] { "t-0", "t-1" })
            {
                Assert.Equal(1000, new FileInfo(Path.Combine(dir, partition, "00000000000000000000.log")).Length);
                Assert.True(File.Exists(Path.Combine(dir, partition, "00000000000000000000.index")));
                Assert.Equal(700, new FileInfo(Path.Combine(dir, partition, "00000000000000000100.log")).Length);
                Assert.False(File.Exists(Path.Combine(dir, partition, "00000000000000000100.index")));
                Assert.False(File.Exists(Path.Combine(dir, partition, "00000000000000000100.timeindex")));
            }
            Assert.Equal(1000, new FileInfo(Path.Combine(dir, "other-0", "00000000000000000100.log")).Length);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
