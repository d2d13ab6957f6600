"""`editreward metric install`: make `evaluate.load("editreward_accuracy")` work offline; prints the script path."""


def register(subparsers):
    parser = subparsers.add_parser("metric", help="the editreward_accuracy evaluate metric")
    actions = parser.add_subparsers(dest="metric_command", metavar="ACTION")
    install = actions.add_parser("install", help="copy the metric into evaluate's cache so evaluate.load finds it")
    parser.set_defaults(handler=lambda args: parser.print_help() or 0)
    install.set_defaults(handler=run)
    return parser


def run(args) -> int:
    from ..evaluate_metrics import install_metric

    print(install_metric())
    return 0
