using Samsa.Protocol;

namespace Samsa.Storage.Checkpoints;

/// <summary>
/// <c>partition.metadata</c> (KIP-516): two lines, <c>version: 0</c> and <c>topic_id: &lt;base64url id&gt;</c>,
/// binding the directory to a topic id so a re-created topic with the same name is never confused with it.
/// </summary>
public static class PartitionMetadataFile
{
    public const string FileName = "partition.metadata";

    public static void Write(string partitionDirectory, Uuid topicId) =>
        CheckpointFile.WriteAtomically(Path.Combine(partitionDirectory, FileName), System.Text.Encoding.UTF8.GetBytes($"version: 0\ntopic_id: {topicId}\n"));

    public static Uuid? Read(string partitionDirectory)
    {
        var path = Path.Combine(partitionDirectory, FileName);
        if (!File.Exists(path) || new FileInfo(path).Length > 4096)
        {
            return null;
        }
        var lines = File.ReadAllLines(path);
        if (lines.Length < 2 || lines[0].Trim() != "version: 0" || !lines[1].StartsWith("topic_id: ", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{path} is not a version 0 partition metadata file");
        }
        return Uuid.Parse(lines[1]["topic_id: ".Length..].Trim());
    }
}
