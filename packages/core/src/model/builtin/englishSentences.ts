/**
 * A small corpus of realistic English text of varied length, for benchmarks ("realistic mix") and
 * tests.
 *
 * Provenance: every text below was written by hand for adabatch (no external source, no download),
 * and is covered by the project's licence. The corpus is built from three kinds of text, in this
 * order:
 *
 * 1. short search-style queries (2 to 10 words), as an embedding service receives them;
 * 2. single sentences (about 8 to 40 words) on 24 everyday topics: news, science, cooking, support
 *    tickets, law, software, travel, sport, history, health, finance, product reviews, ...;
 * 3. one paragraph per topic, the topic's sentences joined with a space (100 to 140 words, about
 *    120 to 160 tokens);
 * 4. eight long documents, each the paragraphs of three consecutive topics joined with a blank
 *    line (320 to 390 words, about 375 to 460 tokens), so inputs close to a 512-token maximum
 *    length are present too.
 *
 * The texts use ordinary punctuation, digits, contractions, hyphenated words, names and a few rare
 * words, so that tokenizers split them the way they split real traffic.
 *
 * @since 0.1.0
 */

const queries: ReadonlyArray<string> = [
  "cheap flights to lisbon in march",
  "how to reset my router password",
  "best running shoes for flat feet",
  "symptoms of vitamin d deficiency",
  "python list comprehension example",
  "what time does the pharmacy close",
  "vegetarian lasagna recipe",
  "refund policy for damaged items",
  "who won the 1998 world cup",
  "difference between a loan and a mortgage",
  "noise cancelling headphones under 200 dollars",
  "how long to boil an egg",
  "tenant rights when the landlord sells the house",
  "convert celsius to fahrenheit",
  "why is the sky blue",
  "train schedule from berlin to prague",
  "how do vaccines work",
  "quarterly revenue report template",
  "symptoms of burnout at work",
  "fix a leaking kitchen tap",
  "laptop battery drains overnight",
  "what is a sovereign wealth fund",
  "jobs for remote software engineers",
  "can dogs eat grapes",
  "photosynthesis explained simply",
  "Order #48213 has not arrived yet",
  "cancel my subscription",
  "warranty claim for a cracked screen",
  "history of the printing press",
  "best time of year to visit Japan",
  "How do I change the billing address on my account?",
  "Is this jacket waterproof?",
  "interest rates forecast for next year",
  "gluten-free bread that actually tastes good",
  "How many calories are in a banana?",
  "set up two-factor authentication",
  "meaning of the word serendipity",
  "causes of the French Revolution",
  "electric car charging stations near me",
  "how to write a cover letter",
  "Where is my package?",
  "treatment for a sprained ankle",
  "compare cloud storage prices",
  "what does an API gateway do",
  "easy houseplants for low light",
  "how to negotiate a higher salary",
  "ancient roman aqueducts engineering",
  "The app crashes when I open the camera."
]

const topics: ReadonlyArray<ReadonlyArray<string>> = [
  // news
  [
    "The city council voted on Tuesday to extend the night bus service to the northern suburbs.",
    "Officials said the new routes would begin running in September, pending a final review of the budget.",
    "Residents who work late shifts had campaigned for the change for more than three years.",
    "\"It means I no longer have to pay for a taxi every night,\" said one nurse at the regional hospital.",
    "Critics argued that the money would be better spent on repairing the existing fleet, which is old and unreliable.",
    "The transport authority estimates that about 4,500 passengers will use the extended service each week.",
    "A spokesperson added that fares will not rise this year.",
    "The decision passed by eleven votes to four after a debate that lasted well past midnight."
  ],
  // science
  [
    "Astronomers have detected water vapour in the atmosphere of a planet orbiting a small, cool star.",
    "The planet is roughly twice the size of Earth and sits in the zone where liquid water could exist.",
    "The observations were made by measuring how starlight filtered through the planet's atmosphere during a transit.",
    "Researchers cautioned that the presence of water does not mean the planet is habitable.",
    "Its surface may be far too hot, or buried beneath a thick layer of hydrogen.",
    "Follow-up measurements with a larger telescope are planned for next year.",
    "If confirmed, it would be one of the smallest planets whose atmosphere has been studied in detail.",
    "The team published its findings in a peer-reviewed journal on Monday."
  ],
  // cooking
  [
    "Preheat the oven to 200 degrees and line a baking tray with parchment paper.",
    "Cut the potatoes into even wedges so that they cook at the same rate.",
    "Toss them with olive oil, salt, smoked paprika and a little crushed garlic.",
    "Spread the wedges out in a single layer; crowding the tray makes them steam instead of crisp.",
    "Roast for about thirty-five minutes, turning them once halfway through.",
    "They are ready when the edges are golden and a knife slides easily into the centre.",
    "Serve immediately with a yoghurt and herb dip, or keep them warm in a low oven.",
    "Leftovers can be reheated in a hot pan, although they will never be quite as crunchy."
  ],
  // customer support
  [
    "Hi, I ordered a pair of boots two weeks ago and they still haven't arrived.",
    "The tracking page has said \"in transit\" since last Friday and nothing has changed.",
    "I've already contacted the courier, but they told me to get in touch with you instead.",
    "Could you please check whether the parcel has been lost, and if so send a replacement?",
    "I need them before I travel on the 14th, so a quick answer would be really appreciated.",
    "My order number is 55-20931 and the delivery address is the one on my account.",
    "If a replacement isn't possible, I would prefer a full refund to my original payment method.",
    "Thanks in advance for your help, and sorry for the long message."
  ],
  // law
  [
    "A tenancy agreement is a contract between a landlord and a tenant that sets out the terms of the rental.",
    "It usually states the amount of rent, when it must be paid and how long the tenancy will last.",
    "In most jurisdictions the landlord must give written notice before entering the property, except in an emergency.",
    "The deposit is normally held in a protected scheme and returned at the end of the tenancy, minus any agreed deductions.",
    "Tenants are responsible for minor repairs, while the landlord remains liable for the structure and the heating.",
    "If either party breaches the agreement, the other may be entitled to damages or to end the contract early.",
    "Disputes can often be settled through mediation without going to court.",
    "Anyone unsure of their rights should seek independent legal advice before signing."
  ],
  // software
  [
    "The service exposes a small HTTP API that accepts a batch of texts and returns one embedding per text.",
    "Requests are queued and grouped into batches so that the model runs efficiently on the CPU.",
    "Each batch is padded only to the length of its longest input, which keeps wasted computation low.",
    "When the queue is full, new requests are rejected with status 429 and a Retry-After header.",
    "Metrics such as queue depth, batch size and inference latency are exported in the Prometheus format.",
    "Configuration is read from environment variables, and every option has a sensible default.",
    "On shutdown the server stops accepting connections, finishes the requests in flight and then exits.",
    "The whole pipeline is covered by integration tests that start a real server on a random port."
  ],
  // travel
  [
    "We arrived in Kyoto late in the evening, tired but excited after the long train journey from Tokyo.",
    "Our guesthouse was a narrow wooden building tucked away in a quiet lane near the river.",
    "The next morning we walked through thousands of orange gates that wind up the side of a mountain.",
    "By midday the paths were crowded, so we escaped to a tiny tea house with a view over the city.",
    "In the afternoon it started to rain, which made the moss gardens even more beautiful.",
    "Dinner was a dozen small dishes, most of which we could not name but all of which we enjoyed.",
    "I would recommend staying at least four days, because there is far more to see than you expect.",
    "Buy a day pass for the buses; it pays for itself after three rides."
  ],
  // sport
  [
    "The home side came from two goals down to win 3-2 in front of a sold-out crowd on Saturday.",
    "Their captain scored the equaliser with a header in the 78th minute after a well-worked corner.",
    "The winner came deep into stoppage time, when a deflected shot looped over the stranded goalkeeper.",
    "The visiting manager complained that the referee had ignored a clear foul in the build-up.",
    "Despite the defeat, his team remain top of the table on goal difference.",
    "Both clubs now face a busy schedule, with three matches in the next eight days.",
    "Injuries to key defenders could decide which of them stays ahead by the end of the season.",
    "Tickets for the return fixture in April sold out within an hour."
  ],
  // history
  [
    "The printing press was developed in Europe around 1440 by Johannes Gutenberg, a goldsmith from Mainz.",
    "His key innovation was a system of movable metal type that could be cast quickly and reused.",
    "Before then, books were copied by hand, which made them rare and extremely expensive.",
    "Within fifty years, presses were operating in more than two hundred cities across the continent.",
    "The spread of cheap printed material helped to fuel the Reformation and the scientific revolution.",
    "It also standardised spelling and grammar, as printers chose one form of each word.",
    "Historians still debate how quickly literacy rose as a result.",
    "What is clear is that information began to travel faster and further than ever before."
  ],
  // health
  [
    "Regular physical activity lowers the risk of heart disease, type 2 diabetes and some cancers.",
    "Adults are generally advised to do at least 150 minutes of moderate exercise every week.",
    "Brisk walking, cycling and swimming all count, as long as they raise your heart rate.",
    "Strength exercises on two or more days a week help to maintain muscles and bones as we age.",
    "People who have been inactive for a long time should start slowly and build up gradually.",
    "If you have a chronic condition, talk to your doctor before beginning a new programme.",
    "Even short bursts of activity, such as taking the stairs, add up over the course of a day.",
    "Sleep, diet and stress also play an important role in long-term health."
  ],
  // finance
  [
    "The central bank left interest rates unchanged at 4.25% on Thursday, in line with market expectations.",
    "Policymakers noted that inflation has fallen for five consecutive months but remains above target.",
    "Wage growth is still strong, which could keep prices rising in the service sector.",
    "Two members of the committee voted for a cut, arguing that the economy is slowing faster than forecast.",
    "Markets now expect the first reduction in borrowing costs early next year.",
    "The currency weakened slightly after the announcement, while government bond yields edged lower.",
    "Economists warned that higher energy prices over the winter could delay any easing.",
    "The bank will publish updated forecasts at its next meeting in six weeks."
  ],
  // product review
  [
    "I've been using this blender every day for about three months, and overall I'm impressed.",
    "It crushes ice in seconds and turns frozen fruit into a smooth drink without any lumps.",
    "The jug is made of thick glass, so it feels solid and doesn't pick up smells.",
    "My only complaint is the noise, which is loud enough to wake someone in the next room.",
    "Cleaning is easy: add warm water and a drop of soap, then run it for thirty seconds.",
    "The buttons are clearly labelled, although the pulse setting is a bit sensitive.",
    "At this price I expected a longer warranty than one year.",
    "Still, I would buy it again and have already recommended it to two friends."
  ],
  // education
  [
    "The course introduces students to the basic ideas of statistics through real data sets.",
    "In the first weeks we cover averages, spread and the shape of distributions.",
    "Later topics include probability, sampling, confidence intervals and hypothesis tests.",
    "Each lecture is followed by a practical session in which students analyse data on a computer.",
    "Assessment is based on weekly exercises, a group project and a final written exam.",
    "No previous knowledge of programming is required, but a willingness to experiment is essential.",
    "Students who complete the course should be able to read and criticise statistical claims in the news.",
    "Office hours are held every Wednesday afternoon for anyone who needs extra help."
  ],
  // environment
  [
    "Forests store enormous amounts of carbon in their trees, roots and soil.",
    "When they are cleared for farming, much of that carbon is released into the atmosphere.",
    "Tropical deforestation is responsible for a significant share of global greenhouse gas emissions.",
    "Protecting existing forests is often cheaper and faster than planting new ones.",
    "Replanting still matters, but young trees take decades to absorb as much carbon as old ones.",
    "Local communities who depend on the forest are frequently its most effective guardians.",
    "Satellite monitoring now makes it possible to spot illegal logging almost in real time.",
    "Whether that information leads to action depends on the political will to enforce the law."
  ],
  // technology
  [
    "Smartphones have become the main way that most people access the internet.",
    "Their cameras, sensors and processors now rival equipment that once filled a room.",
    "Yet many users replace their phones every two or three years, long before they stop working.",
    "Manufacturers have been criticised for making batteries difficult to replace.",
    "New rules in several countries will require spare parts to be available for at least seven years.",
    "Repair shops welcome the change, saying it will cut costs for customers and reduce electronic waste.",
    "Some companies have responded by designing devices that can be opened with ordinary screwdrivers.",
    "Others argue that sealed designs are necessary to keep phones thin and water-resistant."
  ],
  // workplace email
  [
    "Hi team, a quick update on the migration to the new billing system.",
    "We completed the test run over the weekend and found only two minor issues, both now fixed.",
    "The final switch is scheduled for Sunday night, when traffic is at its lowest.",
    "During the switch, which should take about two hours, customers won't be able to update their payment details.",
    "Please make sure any urgent changes are submitted before Friday at 5 pm.",
    "If you notice anything unusual on Monday morning, report it in the incident channel straight away.",
    "Thanks to everyone who helped with the testing; it has been a huge effort.",
    "I'll send a short summary once everything is live."
  ],
  // medicine
  [
    "The patient, a 54-year-old man, presented with chest pain that had started two hours earlier.",
    "He described the pain as a tight pressure spreading to his left arm and jaw.",
    "His blood pressure was 150 over 95 and his heart rate was slightly elevated.",
    "An electrocardiogram showed changes consistent with a heart attack.",
    "He was given aspirin and transferred urgently for coronary angiography.",
    "A blocked artery was opened with a balloon and a stent was placed.",
    "He recovered well and was discharged after three days with advice on diet, exercise and medication.",
    "A follow-up appointment was arranged at the cardiology clinic in six weeks."
  ],
  // real estate
  [
    "This bright two-bedroom flat occupies the top floor of a converted Victorian townhouse.",
    "The open-plan living room has large sash windows and a working fireplace.",
    "A modern kitchen with integrated appliances leads onto a small private terrace.",
    "Both bedrooms are doubles, and the main bedroom has fitted wardrobes along one wall.",
    "The bathroom was renovated last year and includes a walk-in shower as well as a bath.",
    "The property is a ten-minute walk from the station and close to shops, cafés and a park.",
    "It is offered with no onward chain, which should allow for a quick sale.",
    "Viewings are strongly recommended and can be arranged through our office."
  ],
  // nature
  [
    "Every autumn, millions of birds leave northern Europe to spend the winter in Africa.",
    "Many of them fly at night, navigating by the stars and the Earth's magnetic field.",
    "Small songbirds can double their body weight before departure to fuel the journey.",
    "Some species cross the Sahara in a single non-stop flight lasting several days.",
    "Storms, predators and the loss of resting sites along the way make migration dangerous.",
    "Scientists track individual birds with tiny transmitters weighing less than a gram.",
    "The data reveal routes that are far more varied than researchers once assumed.",
    "Protecting wetlands along these routes is vital for the survival of many species."
  ],
  // personal finance advice
  [
    "Start by writing down everything you spend for a month, including small purchases.",
    "Most people are surprised by how much goes on subscriptions and takeaway coffee.",
    "Once you know where the money goes, set a realistic budget for each category.",
    "Try to build an emergency fund that would cover at least three months of essential costs.",
    "Pay off expensive debts, such as credit cards, before you start investing.",
    "If your employer matches pension contributions, make sure you take the full amount.",
    "Automating your savings on payday removes the temptation to spend first.",
    "Review your budget every few months, because your circumstances will change."
  ],
  // art and culture
  [
    "The exhibition brings together more than eighty paintings from collections around the world.",
    "Many of them have not been shown together since the artist's death over a century ago.",
    "The early rooms focus on portraits of family and friends painted in muted browns and greys.",
    "Later works explode with colour, reflecting the artist's move to the south of France.",
    "A highlight is a series of harbour scenes painted at different times of day.",
    "The curators have also included letters and sketchbooks that reveal how the pictures were planned.",
    "Timed tickets are required, and weekends are already almost fully booked.",
    "The show runs until the end of January before travelling to New York."
  ],
  // instructions
  [
    "Before you begin, switch off the power at the fuse box and check that the circuit is dead.",
    "Unscrew the faceplate of the old light switch and gently pull it away from the wall.",
    "Take a photo of the wiring so that you can connect the new switch the same way.",
    "Loosen the terminal screws and remove the wires one at a time.",
    "Connect each wire to the matching terminal on the new switch and tighten the screws firmly.",
    "Tuck the wires back into the box, taking care not to trap them, and screw the faceplate on.",
    "Restore the power and test the switch several times.",
    "If you are not confident doing electrical work, hire a qualified electrician."
  ],
  // opinion
  [
    "Cities around the world are rethinking how much space they give to cars.",
    "Wider pavements, protected cycle lanes and pedestrian streets are no longer unusual.",
    "Shopkeepers often fear that removing parking will drive customers away.",
    "Yet studies repeatedly show that people who walk or cycle visit local shops more often.",
    "Quieter streets are also safer for children and more pleasant for everyone else.",
    "Change is rarely popular at first, and early trials frequently provoke angry protests.",
    "A year later, however, most residents say they would not want to go back.",
    "The lesson is that bold ideas need time, patience and good evidence to win people over."
  ],
  // fiction
  [
    "The lighthouse keeper had not spoken to another person in almost six weeks.",
    "Each evening he climbed the spiral staircase, lit the great lamp and watched the sea.",
    "On the night of the storm, a small boat appeared on the horizon, pitching wildly in the waves.",
    "He signalled with his lantern, but the boat kept drifting towards the rocks.",
    "Without stopping to think, he pulled on his coat and ran down to the jetty.",
    "By the time he reached the water, the boat had vanished as if it had never been there.",
    "In the morning he found a single oar on the beach, carved with a name he did not recognise.",
    "He kept it beside the door for the rest of his life and never told anyone where it came from."
  ]
]

const paragraphs: ReadonlyArray<string> = topics.map((sentences) => sentences.join(" "))

/**
 * The corpus: 48 queries, then 192 single sentences (8 for each of 24 topics), then 24
 * paragraphs (one per topic), then 8 long documents (three topics each): 272 texts in all. See the
 * module doc comment for provenance.
 *
 * @since 0.1.0
 * @category corpus
 */
export const englishSentences: ReadonlyArray<string> = [
  ...queries,
  ...topics.flat(),
  ...paragraphs,
  ...Array.from({ length: paragraphs.length / 3 }, (_, i) => paragraphs.slice(3 * i, 3 * i + 3).join("\n\n"))
]
