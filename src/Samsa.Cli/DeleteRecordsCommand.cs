using System.CommandLine;
using System.Text.Json;
using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace Samsa.Cli;

/// <summary>
/// <c>samsa delete-records</c> = <c>kafka-delete-records.sh</c>: reads
/// <c>{"partitions":[{"topic":"t","partition":0,"offset":3}],"version":1}</c> and prints
/// <c>Executing records delete operation</c>, <c>Records delete operation completed:</c> and one
/// <c>partition: t-0	low_watermark: 3</c> (or <c>error: ...</c>) line per partition.
/// </summary>
internal sealed class DeleteRecordsCommand
{
    private readonly ClientOptions _client = new();
    private readonly Option<string> _offsetJsonFile = new("--offset-json-file") { Description = "REQUIRED: The JSON file with offset per partition. The format to use is: {\"partitions\": [{\"topic\": \"foo\", \"partition\": 1, \"offset\": 1}], \"version\":1 }" };

    public Command Build()
    {
        var command = new Command("delete-records", "Delete records of partitions up to given offsets (kafka-delete-records.sh).");
        _client.AddTo(command);
        command.Add(_offsetJsonFile);
        command.SetAction((result, ct) => CommandRunner.RunAsync(() => RunAsync(result), "", errorsToStdout: false));
        return command;
    }

    private async Task RunAsync(ParseResult r)
    {
        var file = r.GetValue(_offsetJsonFile) ?? throw new CommandException("Missing required argument \"[offset-json-file]\"");
        var offsets = Parse(File.ReadAllText(file));
        using var admin = _client.CreateAdmin(r);
        Console.WriteLine("Executing records delete operation");
        IReadOnlyList<(TopicPartition Partition, long? Low, string? Error)> results;
        try
        {
            var done = await admin.DeleteRecordsAsync(offsets);
            results = done.Select(d => (new TopicPartition(d.Topic, d.Partition), (long?)d.Offset.Value, (string?)null)).ToList();
        }
        catch (DeleteRecordsException e)
        {
            results = e.Results.Select(d => (new TopicPartition(d.Topic, d.Partition), d.Error.IsError ? null : (long?)d.Offset.Value, d.Error.IsError ? d.Error.Reason : null)).ToList();
        }
        Console.WriteLine("Records delete operation completed:");
        foreach (var (partition, low, error) in results)
        {
            Console.WriteLine(error is null ? $"partition: {partition.Topic}-{partition.Partition.Value}\tlow_watermark: {low}" : $"partition: {partition.Topic}-{partition.Partition.Value}\terror: {error}");
        }
    }

    private static List<TopicPartitionOffset> Parse(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var partitions = document.RootElement.GetProperty("partitions");
            var result = new List<TopicPartitionOffset>();
            foreach (var p in partitions.EnumerateArray())
            {
                result.Add(new TopicPartitionOffset(p.GetProperty("topic").GetString()!, p.GetProperty("partition").GetInt32(), p.GetProperty("offset").GetInt64()));
            }
            var duplicate = result.GroupBy(p => p.TopicPartition).FirstOrDefault(g => g.Count() > 1);
            return duplicate is null ? result : throw new CommandException($"Offset json file contains duplicate topic partitions: {duplicate.Key.Topic}-{duplicate.Key.Partition.Value}");
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new CommandException("The input string is not a valid JSON");
        }
    }
}
