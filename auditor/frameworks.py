"""The compliance frameworks a rule's `frameworks:` may name, declared once, with their source.

A rule maps itself to controls: `frameworks: {cis-alibaba-v2: ["4.2"], mlps2-l3: ["8.1.4.8"]}`.
The loader checks each framework id against FRAMEWORKS (an unknown one is an error with a
did-you-mean) and each control id against its framework: its pattern always, and, where the
framework's whole list of controls is declared (`complete`), that list too. Reports show a
section per framework, titled from here. docs/frameworks.md cites the source of every mapping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Framework:
    id: str
    title: str
    version: str
    url: str              # where the document is published
    source: str           # what the control ids and titles below were checked against
    pattern: str          # every control id matches it
    controls: dict[str, str] = field(default_factory=dict)  # control id -> title (as known)
    complete: bool = False  # `controls` lists every control: an id not in it is an error

    def control_problem(self, control: str) -> str | None:
        """Why `control` is not a control of this framework (None: it is)."""
        if not re.fullmatch(self.pattern, control):
            return (f"malformed control id {control!r} for {self.id} "
                    f"(like {self.example})")
        if self.complete and control not in self.controls:
            return f"{self.id} has no control {control!r}"
        return None

    @property
    def example(self) -> str:
        """Two control ids, to show what the pattern means."""
        return " or ".join(f"'{c}'" for c in list(self.controls)[:2])



# CIS Alibaba Cloud Foundation Benchmark v2.0.0: every recommendation, numbered and titled as
# in the benchmark (checked against turbot/steampipe-mod-alicloud-compliance cis_v200/, which
# reproduces the benchmark's numbering and titles; see docs/frameworks.md).
_CIS_V2: dict[str, str] = {
    "1.1": "Avoid the use of the 'root' account",
    "1.2": "Ensure no root account access key exists",
    "1.3": "Ensure MFA is enabled for the 'root' account",
    "1.4": "Ensure that multi-factor authentication is enabled for all RAM users that have a "
           "console password",
    "1.5": "Ensure users not logged on for 90 days or longer are disabled for console logon",
    "1.6": "Ensure access keys are rotated every 90 days or less",
    "1.7": "Ensure RAM password policy requires at least one uppercase letter",
    "1.8": "Ensure RAM password policy requires at least one lowercase letter",
    "1.9": "Ensure RAM password policy require at least one symbol",
    "1.10": "Ensure RAM password policy require at least one number",
    "1.11": "Ensure RAM password policy requires minimum length of 14 or greater",
    "1.12": "Ensure RAM password policy prevents password reuse",
    "1.13": "Ensure RAM password policy expires passwords in 365 days or greater",
    "1.14": "Ensure RAM password policy temporarily blocks logon after 5 incorrect logon "
            "attempts within an hour",
    "1.15": "Ensure RAM policies that allow full \"*:*\" administrative privileges are not "
            "created",
    "1.16": "Ensure RAM policies are attached only to groups or roles",
    "2.1": "Ensure that ActionTrail are configured to export copies of all Log entries",
    "2.2": "Ensure the OSS used to store ActionTrail logs is not publicly accessible",
    "2.3": "Ensure audit logs for multiple cloud resources are integrated with Log Service",
    "2.4": "Ensure Log Service is enabled for Container Service for Kubernetes",
    "2.5": "Ensure virtual network flow log service is enabled",
    "2.6": "Ensure Anti-DDoS access and security log service is enabled",
    "2.7": "Ensure Web Application Firewall access and security log service is enabled",
    "2.8": "Ensure Cloud Firewall access and security log analysis is enabled",
    "2.9": "Ensure Security Center Network, Host and Security log analysis is enabled",
    "2.10": "Ensure log monitoring and alerts are set up for RAM Role changes",
    "2.11": "Ensure log monitoring and alerts are set up for Cloud Firewall changes",
    "2.12": "Ensure log monitoring and alerts are set up for VPC network route changes",
    "2.13": "Ensure log monitoring and alerts are set up for VPC changes",
    "2.14": "Ensure log monitoring and alerts are set up for OSS permission changes",
    "2.15": "Ensure log monitoring and alerts are set up for RDS instance configuration changes",
    "2.16": "Ensure a log monitoring and alerts are set up for unauthorized API calls",
    "2.17": "Ensure a log monitoring and alerts are set up for Management Console sign-in "
            "without MFA",
    "2.18": "Ensure a log monitoring and alerts are set up for usage of 'root' account",
    "2.19": "Ensure a log monitoring and alerts are set up for Management Console "
            "authentication failures",
    "2.20": "Ensure a log monitoring and alerts are set up for disabling or deletion of "
            "customer created CMKs",
    "2.21": "Ensure a log monitoring and alerts are set up for OSS bucket policy changes",
    "2.22": "Ensure a log monitoring and alerts are set up for security group changes",
    "2.23": "Ensure that Logstore data retention period is set 365 days or greater",
    "3.1": "Ensure legacy networks does not exist",
    "3.2": "Ensure that SSH access is restricted from the internet",
    "3.3": "Ensure VPC flow logging is enabled in all VPCs",
    "3.4": "Ensure routing tables for VPC peering are 'least access'",
    "3.5": "Ensure the security group are configured with fine grained rules",
    "4.1": "Ensure that 'Unattached disks' are encrypted",
    "4.2": "Ensure that 'Virtual Machine's disk' are encrypted",
    "4.3": "Ensure no security groups allow ingress from 0.0.0.0/0 to port 22",
    "4.4": "Ensure no security groups allow ingress from 0.0.0.0/0 to port 3389",
    "4.5": "Ensure that the latest OS Patches for all Virtual Machines are applied",
    "4.6": "Ensure that the endpoint protection for all Virtual Machines is installed",
    "5.1": "Ensure that OSS bucket is not anonymously or publicly accessible",
    "5.2": "Ensure that there are no publicly accessible objects in storage buckets",
    "5.3": "Ensure that logging is enabled for OSS buckets",
    "5.4": "Ensure that 'Secure transfer required' is set to 'Enabled'",
    "5.5": "Ensure that the shared URL signature expires within an hour",
    "5.6": "Ensure that URL signature is allowed only over https",
    "5.7": "Ensure network access rule for storage bucket is not set to publicly accessible",
    "5.8": "Ensure server-side encryption is set to 'Encrypt with Service Key'",
    "5.9": "Ensure server-side encryption is set to 'Encrypt with BYOK'",
    "6.1": "Ensure that RDS instance requires all incoming connections to use SSL",
    "6.2": "Ensure that RDS Instances are not open to the world",
    "6.3": "Ensure that 'Auditing' is set to 'On' for applicable database instances",
    "6.4": "Ensure that 'Auditing' Retention is 'greater than 6 months'",
    "6.5": "Ensure that 'TDE' is set to 'Enabled' on for applicable database instance",
    "6.6": "Ensure RDS instance TDE protector is encrypted with BYOK (Use your own key)",
    "6.7": "Ensure parameter 'log_connections' is set to 'ON' for PostgreSQL Database",
    "6.8": "Ensure server parameter 'log_disconnections' is set to 'ON' for PostgreSQL "
           "Database Server",
    "6.9": "Ensure server parameter 'log_duration is set to 'ON' for PostgreSQL Database Server",
    "7.1": "Ensure Log Service is set to 'Enabled' on Kubernetes Engine Clusters",
    "7.2": "Ensure CloudMonitor is set to Enabled on Kubernetes Engine Clusters",
    "7.3": "Ensure role-based access control (RBAC) authorization is Enabled on Kubernetes "
           "Engine Clusters",
    "7.4": "Ensure Cluster Check triggered at least once per week for Kubernetes Clusters",
    "7.5": "Ensure Kubernetes web UI / Dashboard is not enabled",
    "7.6": "Ensure Basic Authentication is not enabled on Kubernetes Engine",
    "7.7": "Ensure Network policy is enabled on Kubernetes Engine Clusters",
    "7.8": "Ensure ENI multiple IP mode support for Kubernetes Cluster",
    "7.9": "Ensure Kubernetes Cluster is created with Private cluster enabled",
    "8.1": "Ensure that Security Center is Advanced or Enterprise Edition",
    "8.2": "Ensure that all assets are installed with security agent",
    "8.3": "Ensure that Automatic Quarantine is enabled",
    "8.4": "Ensure that Webshell detection is enabled on all web servers",
    "8.5": "Ensure that notification is enabled on all high risk items",
    "8.6": "Ensure that Config Assessment is granted with privilege",
    "8.7": "Ensure that scheduled vulnerability scan is enabled on all servers",
    "8.8": "Ensure that Asset Fingerprint automatically collects asset fingerprint data",
}

# GB/T 22239-2019, level 3 (第三级安全要求, clause 8): the control points of 8.1.4 安全计算环境
# (security computing environment), numbered as in the standard. Other level-3 clauses are
# accepted by pattern (8.x.y or 8.x.y.z), without a title.
_MLPS_L3: dict[str, str] = {
    "8.1.4.1": "身份鉴别 (identification and authentication)",
    "8.1.4.2": "访问控制 (access control)",
    "8.1.4.3": "安全审计 (security audit)",
    "8.1.4.4": "入侵防范 (intrusion prevention)",
    "8.1.4.5": "恶意代码防范 (malicious code prevention)",
    "8.1.4.6": "可信验证 (trusted verification)",
    "8.1.4.7": "数据完整性 (data integrity)",
    "8.1.4.8": "数据保密性 (data confidentiality)",
    "8.1.4.9": "数据备份恢复 (data backup and recovery)",
    "8.1.4.10": "剩余信息保护 (residual information protection)",
    "8.1.4.11": "个人信息保护 (personal information protection)",
}

FRAMEWORKS: dict[str, Framework] = {f.id: f for f in (
    Framework(
        id="cis-alibaba-v2",
        title="CIS Alibaba Cloud Foundation Benchmark",
        version="v2.0.0",
        url="https://benchmarks.cisecurity.org",
        source="recommendation numbers and titles as reproduced in "
               "turbot/steampipe-mod-alicloud-compliance (cis_v200/section_*.pp)",
        pattern=r"[1-9][0-9]*\.[1-9][0-9]*",
        controls=_CIS_V2,
        complete=True,
    ),
    Framework(
        id="mlps2-l3",
        title="MLPS 2.0 baseline, level 3",
        version="GB/T 22239-2019",
        url="https://openstd.samr.gov.cn/",
        source="clause numbers of GB/T 22239-2019 clause 8 (level 3), as used by Alibaba Cloud "
               "Config's ClassifiedProtectionPreCheck (MLPS 2.0 level 3) compliance package",
        pattern=r"8\.[1-5]\.[1-9][0-9]*(\.[1-9][0-9]*)?",
        controls=_MLPS_L3,
    ),
)}


def control_sort_key(control: str) -> tuple[int, ...]:
    """`4.10` after `4.9`: control ids compared number by number."""
    return tuple(int(part) for part in re.findall(r"\d+", control))
