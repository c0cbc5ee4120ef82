using System.CommandLine;
using Samsa.Cli;

// `samsa <tool> [flags]`: Kafka's command-line tools with their flags and output formats. The bin/kafka-*.sh
// wrappers call these subcommands so that Kafka's documented command lines run unchanged.
var root = new RootCommand("Samsa command-line tools (Kafka's kafka-*.sh tools)");
root.Add(new TopicsCommand().Build());
root.Add(new ConfigsCommand().Build());
root.Add(new DeleteRecordsCommand().Build());
root.Add(new LeaderElectionCommand().Build());
root.Add(new ReassignPartitionsCommand().Build());
root.Add(new BrokerApiVersionsCommand().Build());
root.Add(new StorageCommand().Build());
root.Add(new ConsumerGroupsCommand().Build());
root.Add(new ConsoleProducerCommand().Build());
root.Add(new ConsoleConsumerCommand().Build());
root.Add(new ProducerPerfTestCommand().Build());
root.Add(new ConsumerPerfTestCommand().Build());
root.Add(new EndToEndLatencyCommand().Build());
root.Add(new VerifiableProducerCommand().Build());
root.Add(new VerifiableConsumerCommand().Build());
root.Add(new DumpLogCommand().Build());
root.Add(new GetOffsetsCommand().Build());
root.Add(new LogDirsCommand().Build());
root.Add(new FeaturesCommand().Build());
root.Add(new GroupsCommand().Build());
root.Add(new ClusterCommand().Build());
root.Add(new TransactionsCommand().Build());
root.Add(new MetadataQuorumCommand().Build());
root.Add(new AclsCommand().Build());
var parsed = root.Parse(args);
return UnrecognizedOption.Reject(args, parsed) ?? await parsed.InvokeAsync();
